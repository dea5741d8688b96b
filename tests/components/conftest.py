"""Fake artifacts for calling components' ``python_func`` directly, all under ``tmp_path``,
and a tracking store of the test's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kfp import dsl


def artifact(kind: type[dsl.Artifact], path: Path, **metadata: object) -> dsl.Artifact:
    """An artifact of ``kind`` whose local path is ``path`` (as the executor hands it over)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return kind(name=path.name, uri=str(path), metadata=dict(metadata))


def write_passed_decision(path: str | Path, report: Path, levels: dict | None = None) -> None:
    """The decision file of a gate that passed with no champion to compare against, written
    with the gate's own writer (the register step reads it with ``read_decision``)."""
    from libra_guard.promotion.gate import ChampionComparison, GateDecision, GateThresholds
    from libra_guard.steps.gate import GateOutcome, write_decision

    passed = GateDecision(
        passed=True,
        checks=(),
        comparison=ChampionComparison("no_champion"),
        reasons=("ok",),
        thresholds=GateThresholds(),
    )
    write_decision(GateOutcome(passed, levels=levels), path, report)


def write_evaluation(folder: Path, correct: list[bool], accuracy: float | None = None) -> Path:
    """A minimal evaluation folder (``metrics.json`` + ``predictions.jsonl``) as the gate reads."""
    folder.mkdir(parents=True, exist_ok=True)
    share = accuracy if accuracy is not None else sum(correct) / len(correct)
    metrics = {
        "average": {"accuracy": share, "f1_safe": share, "f1_unsafe": share},
        "by_category": {"违法犯罪": {"accuracy": share, "n": len(correct)}},
        "n": len(correct),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False), "utf-8")
    rows = [json.dumps({"id": f"r{i}", "correct": ok}) for i, ok in enumerate(correct)]
    (folder / "predictions.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
    return folder


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """MLflow on a SQLite file of this test; the steps' environment points at it."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("LIBRA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("LIBRA_MLFLOW_PARENT_RUN_ID", raising=False)
    return uri
