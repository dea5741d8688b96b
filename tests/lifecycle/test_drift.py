"""Drift: flagged on shifted traffic and not on unshifted, inconclusive on too little, and the
``monitor drift`` command end to end (captured folder, evaluation folder, MLflow on SQLite,
exit codes a scheduler acts on)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from libra_guard.cli.main import app
from libra_guard.lifecycle.capture import CaptureConfig, CaptureSink, Decision
from libra_guard.lifecycle.drift import DriftLimits, Traffic, compare, psi
from libra_guard.tracking.store import client

RNG_SEED = 11
DAY = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def traffic(rng, size: int, a: float, b: float, mean_chars: float) -> Traffic:
    scores = rng.beta(a, b, size)
    chars = rng.poisson(mean_chars, size)
    return Traffic(scores=list(scores), threshold=0.5, chars=[int(c) for c in chars])


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert 0 < psi([0.5, 0.5], [0.6, 0.4]) < psi([0.5, 0.5], [0.8, 0.2])


def test_unshifted_traffic_is_not_flagged() -> None:
    rng = np.random.default_rng(RNG_SEED)
    result = compare(traffic(rng, 2000, 2, 5, 80), traffic(rng, 600, 2, 5, 80))
    assert result.outcome == "ok", result
    assert {view.view for view in result.views if view.psi is not None} == {
        "score",
        "unsafe_rate",
        "input_chars",
    }


def test_shifted_scores_lengths_and_unsafe_rate_are_flagged() -> None:
    rng = np.random.default_rng(RNG_SEED)
    result = compare(traffic(rng, 2000, 2, 5, 80), traffic(rng, 600, 5, 2, 200))
    assert result.outcome == "drift"
    assert set(result.drifted_views) == {"score", "unsafe_rate", "input_chars"}
    assert "drift in score" in result.reason


def test_scenario_mix_is_compared_only_where_known() -> None:
    rng = np.random.default_rng(RNG_SEED)
    same = list(rng.beta(2, 5, 400))
    reference = Traffic(same, 0.5, scenarios=["诈骗"] * 200 + ["暴力"] * 200)
    current = Traffic(same, 0.5, scenarios=["诈骗"] * 360 + ["暴力"] * 40)
    result = compare(reference, current)
    assert result.drifted_views == ["scenario"]
    unknown = compare(reference, Traffic(same, 0.5))
    assert {view.view: view.note for view in unknown.views}["scenario"]


def test_too_few_items_is_inconclusive_not_a_pass() -> None:
    rng = np.random.default_rng(RNG_SEED)
    result = compare(traffic(rng, 500, 2, 5, 80), traffic(rng, 10, 5, 2, 80), DriftLimits())
    assert result.outcome == "inconclusive" and not result.views


def write_evaluation(folder: Path, scores) -> Path:
    folder.mkdir(parents=True)
    lines = [
        json.dumps({"id": f"r{i}", "category_name": "诈骗", "label": "安全", "score": float(s)})
        for i, s in enumerate(scores)
    ]
    (folder / "predictions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def capture(folder: Path, scores) -> str:
    config = CaptureConfig(uri=str(folder), rate=1.0, near_threshold_rate=1.0, flush_items=10_000)
    sink = CaptureSink(config, threshold=0.5)
    model = {"name": "libra-guard", "version": "1"}
    sink.offer(
        [
            Decision("问题", "回答", "response", float(s), "安全", "safe", model, "safe")
            for s in scores
        ],
        now=DAY,
    )
    sink.flush()
    return str(folder)


@pytest.mark.parametrize(("shifted", "exit_code"), [(False, 0), (True, 3)])
def test_monitor_drift_reports_to_mlflow_and_exits_by_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shifted: bool, exit_code: int
) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.setenv("LIBRA_STATE_DIR", str(tmp_path / "state"))
    rng = np.random.default_rng(RNG_SEED)
    evaluation = write_evaluation(tmp_path / "evaluation", rng.beta(2, 5, 800))
    served = rng.beta(5, 2, 300) if shifted else rng.beta(2, 5, 300)
    uri = capture(tmp_path / "captures", served)
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        [
            "monitor", "drift", "--capture", uri, "--reference", str(evaluation),
            "--until", "2026-11-30", "--days", "7", "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == exit_code, result.output
    assert ("DRIFT" in result.output) is shifted
    assert (out / "drift.png").stat().st_size > 10_000
    runs = client(tracking_uri).search_runs(
        [client(tracking_uri).get_experiment_by_name("libra-guard-monitoring").experiment_id]
    )
    assert runs[0].data.tags["drift.outcome"] == ("drift" if shifted else "ok")
    assert "drift.score.psi" in runs[0].data.metrics
    artifacts = {a.path for a in client(tracking_uri).list_artifacts(runs[0].info.run_id, "drift")}
    assert artifacts == {"drift/drift.md", "drift/drift.png", "drift/drift.json"}


def test_monitor_drift_outside_the_window_is_a_clear_error(tmp_path: Path) -> None:
    uri = capture(tmp_path / "captures", [0.2] * 60)
    evaluation = write_evaluation(tmp_path / "evaluation", [0.2] * 60)
    result = CliRunner().invoke(
        app,
        ["monitor", "drift", "--capture", uri, "--reference", str(evaluation),
         "--until", "2026-11-20"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no captured decisions" in result.output
