"""Numeric precision and activation memory of a training step (bf16 mixed precision,
gradient checkpointing), one decision per function so the loop stays readable.

Why mixed precision rather than casting the model to bf16: bf16 keeps 8 bits of mantissa, so
an update smaller than 1/256 of a weight is lost when the weight itself is bf16; full
fine-tuning therefore keeps fp32 master weights and runs the matrix products in bf16 under
``torch.autocast`` (16 B/param with AdamW, see ``memory_plan``). A LoRA base is frozen, so its
weights are loaded in bf16 (2 B/param) and only the small adapters train in fp32. On CPUs
everything stays fp32: bf16 matrix products are slower there than fp32 ones on most CPUs.
"""

from __future__ import annotations

import contextlib

import torch


def weight_dtype(method: str, device: torch.device) -> torch.dtype:
    """The dtype the base's weights are loaded in: bf16 for a frozen LoRA base on a GPU,
    else fp32 (master weights of full fine-tuning, and every CPU run)."""
    if device.type == "cuda" and method == "lora":
        return torch.bfloat16
    return torch.float32


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on a GPU (products in bf16, weights and optimizer in fp32); a no-op on CPU."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def enable_gradient_checkpointing(model) -> None:
    """Keep only each decoder layer's input and recompute the rest in the backward pass.

    Non-reentrant checkpointing works with frozen inputs (LoRA) without the
    ``enable_input_require_grads`` hook; the KV cache is off, since training never reuses it.
    """
    model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
