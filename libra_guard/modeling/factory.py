"""Base models: load any causal LM by local path or hub id, or build the ``tiny`` preset.

``trust_remote_code`` is always off: a guard platform must not run code shipped with
weights. Loading errors become ``ModelError`` naming the path or id to fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from libra_guard.atomic import staged_folder
from libra_guard.errors import ModelError
from libra_guard.modeling.presets import TINY_PRESET, TinyDims, build_tiny_model
from libra_guard.modeling.tokenizer import train_chatml_tokenizer


def is_tiny(base: str) -> bool:
    """Whether ``base`` names the built-in tiny preset rather than a path or hub id."""
    return base == TINY_PRESET


def load_tokenizer(path_or_id: str | os.PathLike):
    """The tokenizer of a model folder or hub id (left as saved: padding side, template)."""
    try:
        return AutoTokenizer.from_pretrained(str(path_or_id), trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load a tokenizer from {path_or_id}: {exc}") from exc


def load_causal_lm(
    path_or_id: str | os.PathLike, *, dtype: object = None, device: object = None
) -> PreTrainedModel:
    """A causal LM from a model folder or hub id, on ``device`` (default CPU), in eval mode."""
    import torch

    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(path_or_id), trust_remote_code=False, dtype=dtype or torch.float32
        )
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load a causal LM from {path_or_id}: {exc}") from exc
    if device is not None:
        model = model.to(device)
    return model.eval()


def build_tiny_base(corpus: Iterable[str], dims: TinyDims, out_dir: Path) -> Path:
    """Train the tokenizer on ``corpus``, build the random-init tiny model, save both.

    The folder is written under a temporary name and renamed, so a half-written base is never
    picked up. Returns ``out_dir``.
    """
    tokenizer = train_chatml_tokenizer(corpus, vocab_size=dims.vocab_size)
    model = build_tiny_model(tokenizer, dims)
    out_dir = Path(out_dir)
    with staged_folder(out_dir) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
    return out_dir
