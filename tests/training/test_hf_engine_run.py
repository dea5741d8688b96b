"""The hf engine (``transformers.Trainer`` in Ray Train) trains a real stage: the loss falls,
the stage keeps its best validated weights, publishes a model every consumer loads, records a
per-step curve that MLflow takes as step metrics, and a killed run resumes from its checkpoint."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from libra_guard.modeling.judge import GuardJudge
from libra_guard.tracking.runs import log_stage, start_pipeline_run
from libra_guard.training.config import StageConfig
from libra_guard.training.curve import TrainingCurve
from libra_guard.training.runner import prepare_base, run_stage
from tests.training.configs import small_config
from tests.training.killed_run import kill_then_resume

pytestmark = pytest.mark.slow


def test_hf_stage_trains_selects_publishes_and_logs_its_curve(ray_address, synth_rows, tmp_path):
    stage = StageConfig(
        epochs=2, batch_size=8, learning_rate=3e-3, warmup_steps=1, checkpoint_every=100
    )
    config = small_config(engine="hf", stage1=stage)
    source = prepare_base(config, synth_rows, tmp_path / "out", log=lambda _: None)
    outcome = run_stage(
        "stage1",
        config,
        synth_rows[:48],
        source,
        tmp_path / "out",
        validation={"held": synth_rows[48:]},
        log=lambda _: None,
    )
    assert (outcome.engine, outcome.sharding, outcome.steps) == ("hf", "none", 12)
    # Validated at steps 3, 6, 9, 12; the kept weights are one of them.
    assert outcome.best_step in {3, 6, 9, 12}
    assert 0.0 <= outcome.best_val_accuracy <= 1.0

    curve = TrainingCurve.load(tmp_path / "out" / "stage1").points
    assert [point.step for point in curve] == list(range(1, 13))
    assert curve[0].lr < curve[1].lr  # warm-up
    assert sum(point.loss for point in curve[-3:]) / 3 < curve[0].loss - 0.05
    assert all(point.tokens_per_s > point.samples_per_s > 0 for point in curve)

    judge = GuardJudge.load(tmp_path / "out" / "stage1")
    scores = judge.verdict_scores([(row.question, row.response) for row in synth_rows[:4]])
    assert all(0.0 <= score <= 1.0 for score in scores)

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent = start_pipeline_run("kfp-hf", tracking_uri=uri)
    series = TrainingCurve(curve).series()
    run = log_stage(parent, "pretrain_guard", step_metrics=series, tracking_uri=uri)
    history = MlflowClient(tracking_uri=uri).get_metric_history(run, "loss")
    assert [(point.step, point.value) for point in history] == [
        (point.step, point.loss) for point in curve
    ]


CONFIG = """\
engine: hf
tiny: {vocab_size: 800, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1,
       num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 512}
max_length: 320
report_every: 2
stage2_validation: 0.0
stage1: {epochs: 6, batch_size: 8, checkpoint_every: 3, warmup_steps: 1}
stage2: {epochs: 1, batch_size: 8, checkpoint_every: 3, warmup_steps: 1}
"""


def test_killed_hf_run_resumes_from_its_checkpoint(ray_address, synth_rows, tmp_path):
    output, info = kill_then_resume(
        tmp_path, synth_rows, CONFIG, ray_address, first_deadline_s=300, second_timeout_s=500
    )
    assert info["engine"] == "hf"
    assert info["resumed_from_step"] >= 3 and info["resumed_from_step"] % 3 == 0
    assert f"resuming from checkpoint at step {info['resumed_from_step']}/48" in output
    # The curve continues across the restart: every step once, in order.
    curve = TrainingCurve.load(tmp_path / "out" / "stage1").points
    assert [point.step for point in curve] == list(range(1, 49))
