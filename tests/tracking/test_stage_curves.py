"""A training step's per-step curve reaches MLflow as step-indexed metrics (curves in the UI),
not only the stage's final figures."""

from __future__ import annotations

import json
from types import SimpleNamespace

from mlflow import MlflowClient

from libra_guard.tracking.runs import stage_run_id, start_pipeline_run
from libra_guard.tracking.stage_report import report_stage
from libra_guard.training.config import TrainConfig
from libra_guard.training.curve import CurvePoint, TrainingCurve
from libra_guard.training.publish import StageOutcome


class _Metrics:
    def __init__(self, path):
        self.path, self.logged = str(path), {}

    def log_metric(self, name, value):
        self.logged[name] = value


def test_report_stage_logs_loss_lr_and_throughput_per_step(tracking_uri, tmp_path, monkeypatch):
    stage_dir = tmp_path / "stage1"
    stage_dir.mkdir()
    points = [
        CurvePoint(step, 2.0 / step, 2.5 / step, 1e-3 * step, 30.0 + step, 3000.0 + step)
        for step in range(1, 6)
    ]
    TrainingCurve(points).save(stage_dir)
    outcome = StageOutcome("stage1", "full", 40, str(stage_dir), 5, 0.4, 33.0, 9.0, 0)
    parent = start_pipeline_run("kfp-curves", tracking_uri=tracking_uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.setenv("LIBRA_MLFLOW_PARENT_RUN_ID", parent)
    model = SimpleNamespace(uri="file:///model", metadata={})
    report_stage("pretrain_guard", outcome, TrainConfig(), model, _Metrics(tmp_path / "m"), {})

    run_id = stage_run_id(parent, "pretrain_guard", tracking_uri=tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    history = {
        name: sorted((m.step, m.value) for m in client.get_metric_history(run_id, name))
        for name in ("loss", "lr", "samples_per_s", "tokens_per_s")
    }
    assert history["loss"] == [(p.step, p.loss) for p in points]
    assert history["lr"] == [(p.step, p.lr) for p in points]
    assert [step for step, _ in history["tokens_per_s"]] == [1, 2, 3, 4, 5]
    # The stage's final figures stay beside the curves.
    assert client.get_run(run_id).data.metrics["final_loss"] == 0.4
    assert json.loads((tmp_path / "m").read_text())["steps"] == 5


def test_curve_survives_a_checkpoint_round_trip(tmp_path):
    curve = TrainingCurve([CurvePoint(1, 1.0, 1.0, 1e-4, 10.0, 900.0)])
    curve.save(tmp_path)
    restored = TrainingCurve.load(tmp_path)
    restored.record(CurvePoint(2, 0.5, 0.5, 2e-4, 11.0, 950.0))
    assert [point.step for point in restored.points] == [1, 2]
    assert TrainingCurve.load(tmp_path / "absent").points == []
