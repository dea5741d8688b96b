"""LoRA adapters (PEFT) on a causal LM, and merging them back into plain weights.

Fine-tuning a 14B base touches only small low-rank matrices beside the attention and MLP
projections; the trained adapter is kept as its own folder (for provenance and cheap
transfer) and also merged into the weights, so every consumer can load a plain model.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from transformers import PreTrainedModel

#: Every linear projection of a Qwen2 (and Llama-style) decoder block.
QWEN2_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoraSettings(BaseModel):
    """Hyper-parameters of the LoRA adapter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rank: int = Field(default=16, ge=1, description="Rank r of the low-rank update.")
    alpha: int = Field(default=32, ge=1, description="Scale: the update is multiplied by alpha/r.")
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: tuple[str, ...] = Field(
        default=QWEN2_TARGET_MODULES, min_length=1, description="Names of the wrapped layers."
    )


def apply_lora(model: PreTrainedModel, settings: LoraSettings):
    """Wrap ``model`` with a fresh LoRA adapter; only the adapter's parameters stay trainable.

    Returns the ``peft.PeftModel``.

    Raises:
        ValueError: none of ``settings.target_modules`` names a layer of ``model``.
    """
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
    )
    return get_peft_model(model, config)


def is_peft_model(model: object) -> bool:
    """Whether ``model`` carries a PEFT adapter."""
    from peft import PeftModel

    return isinstance(model, PeftModel)


def merge_adapter(model):
    """The plain model with the adapter merged in (the PEFT wrapper is consumed)."""
    return model.merge_and_unload() if is_peft_model(model) else model
