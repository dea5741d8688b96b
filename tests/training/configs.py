"""A training config small enough to run both stages in seconds."""

from __future__ import annotations

from libra_guard.training.config import StageConfig, TrainConfig
from tests.tiny import micro_dims


def small_config(**changes) -> TrainConfig:
    """Tiny dims and a handful of steps per stage; checkpoints every 2 steps; stage 2 with
    LoRA and neither rehearsal nor validation (the defaults turn both on), so the tests that
    use it exercise the adapter path and count steps exactly. The native engine: these are
    its tests (resume, worker loss, checkpoints); the hf engine, the default, has its own
    (``test_hf_engine_run``) and trains every pipeline test (``tests/pipelines/tiny.py``)."""
    config = TrainConfig(
        engine="native",
        tiny=micro_dims(vocab_size=800),
        max_length=320,
        report_every=2,
        stage2_replay=0.0,
        stage2_validation=0.0,
        stage1=StageConfig(epochs=1, batch_size=8, checkpoint_every=2, warmup_steps=1),
        stage2=StageConfig(
            method="lora", epochs=1, batch_size=8, checkpoint_every=2, warmup_steps=1
        ),
    )
    return config.model_copy(update=changes)
