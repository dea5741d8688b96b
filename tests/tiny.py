"""The dimensions of the micro Qwen2 guards tests build: big enough to exercise every code
path a real base takes (attention, grouped key-value heads, tied embeddings), small enough
to build, train a few steps and score in about a second."""

from __future__ import annotations

from libra_guard.modeling.presets import TinyDims

MICRO_DIMS = TinyDims(
    vocab_size=512,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=1,
    num_attention_heads=2,
    num_key_value_heads=1,
    max_position_embeddings=512,
)


def micro_dims(**changes) -> TinyDims:
    """``MICRO_DIMS`` with ``changes`` (e.g. a larger vocabulary for a larger corpus)."""
    return MICRO_DIMS.model_copy(update=changes)
