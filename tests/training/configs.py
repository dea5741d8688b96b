"""A training config small enough to run both stages in seconds."""

from __future__ import annotations

from libra_guard.training.config import StageConfig, TrainConfig
from tests.tiny import micro_dims


def small_config(**changes) -> TrainConfig:
    """Tiny dims and a handful of steps per stage; checkpoints every 2 steps."""
    config = TrainConfig(
        tiny=micro_dims(vocab_size=800),
        max_length=320,
        report_every=2,
        stage1=StageConfig(epochs=1, batch_size=8, checkpoint_every=2, warmup_steps=1),
        stage2=StageConfig(epochs=1, batch_size=8, checkpoint_every=2, warmup_steps=1),
    )
    return config.model_copy(update=changes)
