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
learning rate means the same thing with and without a prompt weight. The answer-only part is
returned beside the objective: it is the figure progress lines and metrics report, so runs with
and without a prompt weight print comparable losses.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from libra_guard.modeling.features import IGNORE_INDEX


class GuardLoss(NamedTuple):
    """``objective`` is what the optimiser minimises; ``answer`` (detached) is its answer-only
    part, equal to ``objective`` when the prompt weight is 0."""

    objective: torch.Tensor
    answer: torch.Tensor


def guard_loss(model, batch: dict[str, torch.Tensor], prompt_weight: float = 0.0) -> GuardLoss:
    """Loss of one collated batch (``input_ids``, ``attention_mask``, ``labels``)."""
    if prompt_weight <= 0:
        loss = model(**batch).loss
        return GuardLoss(loss, loss.detach())
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
    answer_tokens = answer.sum().clamp(min=1)
    objective = (per_token * weights).sum() / answer_tokens
    answer_only = (per_token.detach() * answer).sum() / answer_tokens
    return GuardLoss(objective, answer_only)
