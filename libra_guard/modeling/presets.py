"""The built presets (``tiny``, ``small``): Qwen2-architecture guards built from config, for CPUs.

It is the same model class (``Qwen2ForCausalLM``), the same chat template and the same
training and scoring code a Qwen2.5-14B base goes through; only the dimensions shrink.

Trade-off of the default dimensions: hidden 128, 4 layers, 4 query / 2 key-value heads,
MLP 384 and a 4,096-token vocabulary give 1.3 M parameters (the tied embedding/output matrix
is 0.5 M). Measured on 2 CPU cores: ~34 samples/s on synthetic rows (~120 tokens) and
~12-20 samples/s on real rows (~200 tokens, LoRA), so the demo's two stages (~2,000 + ~600
rows) take ~3.5 minutes, and 4 attention layers are enough to reach >90% verdict accuracy
on held-out synthetic rows. Hidden 192 trains ~15% slower, hidden 256 ~40% slower; a
smaller vocabulary makes the output layer cheaper but sequences longer.

``small`` (hidden 256, 6 layers, 8 query / 4 key-value heads, MLP 768; 5.8 M parameters,
4.4x tiny's) is the larger CPU preset that ``benchmarks/quality.py --preset small`` trains:
more capacity to fit real data without forgetting the synthetic stage, at several times the
tiny model's training time on CPUs.

``qwen2.5-0.5b-shape`` has Qwen2.5-0.5B's exact dimensions (hidden 896, 24 layers, 14 query /
2 key-value heads, MLP 4,864, 151,936 embedding rows, tied embeddings; 494 M parameters) with
random weights: it shows what memory, artifact sizes and load times a real base costs without
a download (``benchmarks/scale.py``). Its tokenizer is trained on the corpus (8,192 tokens);
the embedding matrix is padded to Qwen2.5's 151,936 rows, as Qwen2.5 itself pads its 151,665
tokens, so the weights have the real shapes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from transformers import PreTrainedTokenizerBase, Qwen2Config, Qwen2ForCausalLM

TINY_PRESET = "tiny"
SMALL_PRESET = "small"
QWEN05_SHAPE_PRESET = "qwen2.5-0.5b-shape"


class TinyDims(BaseModel):
    """Dimensions of the tiny Qwen2 model and its tokenizer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vocab_size: int = Field(default=4096, ge=512, description="BPE vocabulary incl. specials.")
    hidden_size: int = Field(default=128, ge=16)
    intermediate_size: int = Field(default=384, ge=16)
    num_hidden_layers: int = Field(default=4, ge=1)
    num_attention_heads: int = Field(default=4, ge=1)
    num_key_value_heads: int = Field(default=2, ge=1)
    max_position_embeddings: int = Field(default=1024, ge=64, description="Longest sequence.")
    seed: int = Field(default=0, description="Seed of the random initialisation.")
    padded_vocab_size: int | None = Field(
        default=None,
        ge=512,
        description="Embedding rows when larger than the tokenizer (unset: the tokenizer's size).",
    )


#: The presets built here rather than loaded, by name.
PRESETS: dict[str, TinyDims] = {
    TINY_PRESET: TinyDims(),
    SMALL_PRESET: TinyDims(
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=6,
        num_attention_heads=8,
        num_key_value_heads=4,
    ),
    QWEN05_SHAPE_PRESET: TinyDims(
        vocab_size=8192,
        padded_vocab_size=151_936,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32_768,
    ),
}


def is_preset(base: str) -> bool:
    """Whether ``base`` names a preset built here rather than a model folder or hub id."""
    return base in PRESETS


def build_tiny_model(tokenizer: PreTrainedTokenizerBase, dims: TinyDims) -> Qwen2ForCausalLM:
    """A randomly initialised Qwen2 causal LM sized by ``dims`` for ``tokenizer``.

    The embedding matrix is tied to the output layer (as in Qwen2.5-0.5B) to halve the
    parameters that depend on the vocabulary.
    """
    import torch

    config = preset_model_config(tokenizer, dims)
    torch.manual_seed(dims.seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def preset_model_config(tokenizer: PreTrainedTokenizerBase, dims: TinyDims) -> Qwen2Config:
    """The ``Qwen2Config`` of a built preset for ``tokenizer`` (no weights are made)."""
    eos_ids = [tokenizer.convert_tokens_to_ids(token) for token in ("<|im_end|>", "<|endoftext|>")]
    return Qwen2Config(
        vocab_size=max(len(tokenizer), dims.padded_vocab_size or 0),
        hidden_size=dims.hidden_size,
        intermediate_size=dims.intermediate_size,
        num_hidden_layers=dims.num_hidden_layers,
        num_attention_heads=dims.num_attention_heads,
        num_key_value_heads=dims.num_key_value_heads,
        max_position_embeddings=dims.max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=eos_ids,
        bos_token_id=None,
        use_cache=True,
    )
