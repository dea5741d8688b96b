"""A training config small enough to run both stages in seconds."""

from __future__ import annotations

from libra_guard.modeling.presets import TinyDims
from libra_guard.training.config import StageConfig, TrainConfig


def small_config(**changes) -> TrainConfig:
    """Tiny dims and a handful of steps per stage; checkpoints every 2 steps."""
    config = TrainConfig(
        tiny=TinyDims(
            vocab_size=800,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=512,
        ),
        max_length=320,
        report_every=2,
        stage1=StageConfig(epochs=1, batch_size=8, checkpoint_every=2, warmup_steps=1),
        stage2=StageConfig(epochs=1, batch_size=8, checkpoint_every=2, warmup_steps=1),
    )
    return config.model_copy(update=changes)
