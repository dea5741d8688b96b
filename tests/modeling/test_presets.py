"""The named presets: ``small`` is a larger Qwen2 guard than ``tiny``, built the same way."""

from __future__ import annotations

from libra_guard.modeling.presets import PRESETS, SMALL_PRESET, TINY_PRESET, is_preset


def test_presets_are_named_and_small_is_larger_than_tiny() -> None:
    assert is_preset(TINY_PRESET) and is_preset(SMALL_PRESET)
    assert not is_preset("Qwen/Qwen2.5-0.5B-Instruct")
    tiny, small = PRESETS[TINY_PRESET], PRESETS[SMALL_PRESET]
    assert small.hidden_size > tiny.hidden_size
    assert small.num_hidden_layers > tiny.num_hidden_layers
    assert small.hidden_size % small.num_attention_heads == 0
    assert small.num_attention_heads % small.num_key_value_heads == 0
    assert small.vocab_size == tiny.vocab_size
