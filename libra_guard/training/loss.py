"""The training loss: next-token loss on the answer, plus an optional weight on the prompt.

Why a prompt weight: the guard's answer carries one informative token (the verdict) per row;
everything after it follows from the verdict. A model trained from scratch (the ``tiny`` and
``small`` presets) learns little about the text it judges from one token per row, so
``prompt_loss_weight`` adds the ordinary language-model loss on the prompt's tokens (the
question and the response; the fixed template costs almost nothing once learnt), scaled by
that weight. It is the "train on inputs" / prompt-loss-weight option of common fine-tuning
tools. ``0`` (the default) is the answer-only loss of the paper's recipe; pretrained bases
need nothing else.

The loss is normalised by the number of ANSWER tokens, as the answer-only loss is, so the
learning rate means the same thing with and without a prompt weight.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from libra_guard.modeling.features import IGNORE_INDEX


def guard_loss(model, batch: dict[str, torch.Tensor], prompt_weight: float = 0.0) -> torch.Tensor:
    """Loss of one collated batch (``input_ids``, ``attention_mask``, ``labels``)."""
    if prompt_weight <= 0:
        return model(**batch).loss
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logits = logits[:, :-1].float()
    labels = batch["labels"][:, 1:]
    inputs = batch["input_ids"][:, 1:]
    real = batch["attention_mask"][:, 1:].bool()
    answer = labels != IGNORE_INDEX
    targets = torch.where(answer, labels, inputs)
    weights = answer.float() + prompt_weight * (real & ~answer).float()
    per_token = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
    ).view_as(weights)
    return (per_token * weights).sum() / answer.sum().clamp(min=1)
