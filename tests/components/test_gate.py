"""``gate``'s function on fake evaluation folders, with no champion in a fresh registry."""

from __future__ import annotations

import json
from pathlib import Path

from kfp.dsl import Artifact, Dataset, Markdown

from components.gate import gate
from libra_guard.tracking.store import client
from tests.components.conftest import artifact, write_evaluation


def _run_gate(tmp_path: Path, thresholds: dict, parent_run_id: str = "", levels=None):
    folder = write_evaluation(tmp_path / "eval", [True] * 8 + [False] * 2)
    if levels is not None:
        metrics = json.loads((folder / "metrics.json").read_text("utf-8"))
        (folder / "metrics.json").write_text(json.dumps(metrics | {"levels": levels}), "utf-8")
    evaluation = artifact(Dataset, folder)
    report = artifact(Markdown, tmp_path / "out" / "report")
    decision = artifact(Artifact, tmp_path / "out" / "decision")
    outputs = gate.python_func(
        test_data=artifact(Dataset, tmp_path / "test.jsonl"),
        evaluation=evaluation,
        gate_thresholds=thresholds,
        report=report,
        decision=decision,
        experiment="gate-test",
        parent_run_id=parent_run_id,
        pipeline_run="kfp-run-1",
    )
    return outputs, Path(report.path), json.loads(Path(decision.path).read_text("utf-8"))


def test_passes_on_thresholds_alone_without_champion(tmp_path: Path, tracking_uri: str) -> None:
    outputs, report, decision = _run_gate(tmp_path, {"min_average_accuracy": 0.7})
    assert outputs.passed is True
    assert decision["champion_version"] is None
    assert decision["summary"].startswith("pass")
    assert report.read_text("utf-8").strip()
    parent = client(tracking_uri).get_run(outputs.parent_run_id)
    assert parent.data.tags["libra.gate.passed"] == "true"
    assert parent.data.tags["libra.pipeline_run_id"] == "kfp-run-1"


def test_fails_below_threshold_and_says_why(tmp_path: Path, tracking_uri: str) -> None:
    outputs, report, decision = _run_gate(tmp_path, {"min_average_accuracy": 0.9})
    assert outputs.passed is False
    assert any("accuracy" in reason for reason in decision["reasons"])
    assert "0.9" in report.read_text("utf-8") or "90" in report.read_text("utf-8")


def test_the_challengers_level_thresholds_travel_with_the_decision(
    tmp_path: Path, tracking_uri: str
) -> None:
    thresholds = {"safe_below": 0.2, "unsafe_from": 0.7, "precision": 0.9}
    levels = {"thresholds": thresholds, "controversial": {"share": 0.1}}
    _, _, decision = _run_gate(tmp_path, {"min_average_accuracy": 0.5}, levels=levels)
    assert decision["levels"] == thresholds
