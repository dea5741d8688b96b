"""The training loss: answer-only by default, plus the weighted prompt loss when asked."""

from __future__ import annotations

import pytest
import torch

from libra_guard.modeling.factory import load_causal_lm, load_tokenizer
from libra_guard.modeling.features import IGNORE_INDEX, collate, encode_row
from libra_guard.training.loss import guard_loss


@pytest.fixture
def batch_and_model(tiny_base, guard_rows):
    tokenizer = load_tokenizer(tiny_base)
    model = load_causal_lm(tiny_base, dtype=torch.float32).eval()
    examples = [encode_row(tokenizer, row, 512) for row in guard_rows[:4]]
    return collate(examples, tokenizer.pad_token_id), model


def test_weight_zero_is_the_answer_only_loss(batch_and_model):
    batch, model = batch_and_model
    with torch.no_grad():
        loss = guard_loss(model, batch, 0.0)
    assert loss.objective == model(**batch).loss
    assert loss.answer == loss.objective


def test_prompt_weight_adds_the_prompt_tokens_loss_per_answer_token(batch_and_model):
    batch, model = batch_and_model
    # The prompt tokens' own mean loss, computed by the model's built-in loss on labels that
    # mark only the real prompt tokens (padding and answer ignored).
    answer = batch["labels"] != IGNORE_INDEX
    prompt_labels = batch["input_ids"].masked_fill(answer | (batch["attention_mask"] == 0), -100)
    # The first token of a row is never a target.
    prompt_labels[:, 0] = IGNORE_INDEX
    prompt_targets = int((prompt_labels[:, 1:] != IGNORE_INDEX).sum())
    answer_tokens = int(answer.sum())
    with torch.no_grad():
        answer_only = guard_loss(model, batch, 0.0).objective
        prompt_mean = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=prompt_labels,
        ).loss
        weighted = guard_loss(model, batch, 0.25)
    expected = answer_only + 0.25 * prompt_mean * prompt_targets / answer_tokens
    assert weighted.objective == pytest.approx(float(expected), rel=1e-4)
    assert weighted.objective > answer_only
    # The reported figure stays the answer-only loss, comparable with unweighted runs.
    assert weighted.answer == pytest.approx(float(answer_only), rel=1e-4)


def test_prompt_weight_sends_gradient_into_the_prompt_positions(batch_and_model):
    batch, model = batch_and_model
    # With the answer masked out entirely, only the prompt loss can produce a gradient.
    no_answer = {**batch, "labels": torch.full_like(batch["labels"], IGNORE_INDEX)}
    loss = guard_loss(model, no_answer, 0.5)
    loss.objective.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)
