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


def test_qwen05_shape_preset_has_qwen25_05b_dimensions() -> None:
    import torch
    from transformers import Qwen2ForCausalLM

    from libra_guard.modeling.presets import QWEN05_SHAPE_PRESET, preset_model_config
    from libra_guard.modeling.tokenizer import train_chatml_tokenizer

    dims = PRESETS[QWEN05_SHAPE_PRESET]
    tokenizer = train_chatml_tokenizer(["安全的回答。", "不安全的回答。"] * 20, vocab_size=600)
    config = preset_model_config(tokenizer, dims)
    assert (config.hidden_size, config.num_hidden_layers, config.intermediate_size) == (
        896, 24, 4864,
    )  # fmt: skip
    assert (config.num_attention_heads, config.num_key_value_heads) == (14, 2)
    assert config.vocab_size == 151_936 and config.tie_word_embeddings
    with torch.device("meta"):
        model = Qwen2ForCausalLM(config)
    assert model.num_parameters() == 494_032_768  # Qwen2.5-0.5B's published count
