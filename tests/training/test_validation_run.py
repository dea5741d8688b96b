"""Stage 2 with a validation hold-out on Ray Train keeps its best validated weights."""

from __future__ import annotations

import json

import pytest

from libra_guard.modeling.judge import GuardJudge
from libra_guard.training.config import StageConfig
from libra_guard.training.publish import PROVENANCE, STAGE_INFO
from libra_guard.training.runner import train_guard
from tests.training.configs import small_config

pytestmark = pytest.mark.slow


def test_stage2_keeps_the_best_validated_weights(ray_address, synth_rows, tmp_path):
    messages: list[str] = []
    config = small_config(
        stage2_validation=0.25,
        stage2_replay=0.5,
        stage2=StageConfig(
            epochs=2,
            batch_size=8,
            checkpoint_every=2,
            warmup_steps=1,
            evals_per_epoch=2,
            prompt_loss_weight=0.1,  # as configs/quality.yaml: the weighted loss runs on Ray
        ),
    )
    outcome = train_guard(
        config, synth_rows[:40], synth_rows[40:], tmp_path / "out", log=messages.append
    )
    stage2 = outcome.stages[1]
    assert stage2.best_step is not None
    assert 1 <= stage2.best_step <= stage2.steps
    assert 0.0 <= stage2.best_val_accuracy <= 1.0
    assert any("validation rows held out" in message for message in messages)
    assert any(f"kept the weights of step {stage2.best_step}" in m for m in messages)
    info = json.loads((tmp_path / "out" / "stage2" / STAGE_INFO).read_text(encoding="utf-8"))
    assert info["best_step"] == stage2.best_step
    provenance = json.loads((outcome.final_dir / PROVENANCE).read_text(encoding="utf-8"))
    assert provenance["config"]["stage2_validation"] == 0.25
    assert provenance["config"]["stage2"]["prompt_loss_weight"] == 0.1
    scores = GuardJudge.load(outcome.final_dir).verdict_scores(
        [(row.question, row.response) for row in synth_rows[:4]]
    )
    assert all(0.0 <= score <= 1.0 for score in scores)
