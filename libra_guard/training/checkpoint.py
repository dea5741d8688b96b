"""What a training checkpoint holds, and how a stage's model folder is written.

A checkpoint is a folder with ``training_state.pt``: the TRAINABLE parameters (all weights
for full fine-tuning, only the adapter for LoRA), the optimizer and scheduler states and the
step reached. The final checkpoint of a stage also holds ``model/``: the merged model and
tokenizer (and ``model/adapter/`` for LoRA), ready to be copied out as ``OUT/stageN``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from libra_guard.modeling.lora import is_peft_model

TRAINING_STATE = "training_state.pt"
MODEL_DIR = "model"
ADAPTER_DIR = "adapter"


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The parameters that training changes, by name, on the CPU."""
    return {
        name: param.detach().to("cpu", copy=True)
        for name, param in model.named_parameters()
        if param.requires_grad
    }


def save_training_state(folder: Path, model, optimizer, scheduler, step: int) -> None:
    torch.save(
        {
            "step": step,
            "trainable": trainable_state(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
        },
        folder / TRAINING_STATE,
    )


def load_training_state(folder: Path, model, optimizer, scheduler) -> int:
    """Restore what ``save_training_state`` wrote; returns the step to continue from.

    Raises:
        RuntimeError: the checkpoint's parameters do not match the model's trainable ones
            (a different base, method or LoRA setting than the run that wrote it).
    """
    state = torch.load(folder / TRAINING_STATE, map_location="cpu", weights_only=True)
    expected = {name for name, param in model.named_parameters() if param.requires_grad}
    if set(state["trainable"]) != expected:
        raise RuntimeError(
            "checkpoint does not match the model being trained (different base, method or "
            "LoRA settings); remove the stage's checkpoints or use a new --out folder"
        )
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in state["trainable"]:
                param.copy_(state["trainable"][name])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return int(state["step"])


def save_model_folder(folder: Path, model, tokenizer) -> None:
    """Write the stage's model: merged weights + tokenizer, the adapter beside them.

    The adapter goes into ``adapter/`` rather than the top folder, because transformers
    treats a folder holding ``adapter_config.json`` as an adapter to load on its base.
    The model is merged in place, so this is the last thing done with it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if is_peft_model(model):
        model.save_pretrained(folder / ADAPTER_DIR)
        tokenizer.save_pretrained(folder / ADAPTER_DIR)
        model = model.merge_and_unload()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
