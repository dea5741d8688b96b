"""Rows to training examples: the row's prompt, then the answer, loss on the answer only.

The prompt is Libra's response prompt for a response row and our prompt-task template for a
``task: "prompt"`` row (``GuardRow.pair``; ``modeling.prompt``). Either goes through the chat
template (``build_chat_prompt``) and is tokenised on its own, exactly as at inference. The
target is ``format_answer(label, critique)`` and the end-of-turn token, tokenised separately
and appended. Prompt positions get label ``-100`` so
the loss teaches the model to answer, not to parrot the template.

Over-long inputs lose the END of the response first (then of the question): the template and
the answer are never cut, because the template is what the model keys on and the answer is
what it learns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from libra_guard.data.schema import SAFE, GuardRow
from libra_guard.errors import ConfigError
from libra_guard.modeling.answer import format_answer
from libra_guard.modeling.prompt import build_chat_prompt

IGNORE_INDEX = -100

#: Critiques used when a row has no ``analyze`` (e.g. external sets without annotator notes).
DEFAULT_CRITIQUE = {
    SAFE: "该回答没有提供有害、违法或违背伦理的内容，符合安全规范。",
    "不安全": "该回答提供了有害、违法或违背伦理的内容，存在安全风险。",
}


@dataclass(frozen=True)
class TrainingExample:
    """One tokenised row: ``input_ids`` and ``labels`` have the same length."""

    input_ids: list[int]
    labels: list[int]
    truncated: bool


def training_target(row: GuardRow) -> str:
    """The answer text the guard learns for ``row`` (without the end-of-turn token)."""
    critique = (row.analyze or "").strip() or DEFAULT_CRITIQUE[row.label]
    return format_answer(row.label, critique)


def end_of_turn_token(tokenizer: PreTrainedTokenizerBase) -> str:
    """The token that closes the assistant turn (``<|im_end|>`` for ChatML tokenizers)."""
    token = tokenizer.eos_token
    if not token:
        raise ConfigError("the tokenizer has no eos token; the guard cannot learn to stop")
    return token


def fit_prompt_ids(
    tokenizer: PreTrainedTokenizerBase, question: str, response: str | None, budget: int
) -> tuple[list[int], bool]:
    """Token ids of the chat prompt, cutting the response (then the question) to ``budget``;
    ``response=None``: the prompt-task template, where only the question can be cut.

    Returns the ids and whether anything was cut. Cutting is by characters, re-tokenising
    after each cut, so that no partial UTF-8 character or half-merged token is left behind.

    Raises:
        ConfigError: the template alone does not fit in ``budget`` tokens.
    """
    ids = _prompt_ids(tokenizer, question, response)
    if len(ids) <= budget:
        return ids, False
    for field in ("response", "question") if response is not None else ("question",):
        while len(ids) > budget:
            text = (response or "") if field == "response" else question
            if len(text) <= 1:
                break
            # Shrink proportionally to the overflow, by at least one character.
            keep = max(1, min(len(text) - 1, int(len(text) * budget / len(ids)) - 1))
            if field == "response" and response is not None:
                response = response[:keep]
            else:
                question = question[:keep]
            ids = _prompt_ids(tokenizer, question, response)
        if len(ids) <= budget:
            return ids, True
    raise ConfigError(
        f"max_length leaves {budget} tokens for the prompt, but the Libra template alone "
        f"needs {len(ids)}; raise max_length"
    )


def encode_row(
    tokenizer: PreTrainedTokenizerBase, row: GuardRow, max_length: int
) -> TrainingExample:
    """Tokenise one row into a training example of at most ``max_length`` tokens; the row's
    task picks the template (``GuardRow.pair``)."""
    answer_ids = tokenizer(
        training_target(row) + end_of_turn_token(tokenizer), add_special_tokens=False
    ).input_ids
    budget = max_length - len(answer_ids)
    if budget <= 0:
        raise ConfigError(
            f"max_length={max_length} is too small for the answer of row {row.id!r} "
            f"({len(answer_ids)} tokens); raise max_length or shorten its analyze"
        )
    question, response = row.pair
    prompt_ids, truncated = fit_prompt_ids(tokenizer, question, response, budget)
    return TrainingExample(
        input_ids=prompt_ids + answer_ids,
        labels=[IGNORE_INDEX] * len(prompt_ids) + answer_ids,
        truncated=truncated,
    )


def truncation_note(examples: Sequence[TrainingExample], max_length: int) -> str | None:
    """One line saying how many rows training cut to ``max_length`` tokens, or ``None``.

    Training cuts (a label belongs to the whole row, so it cannot be split over windows like
    scoring does); the count says how much of the data the model saw only in part.
    """
    cut = sum(example.truncated for example in examples)
    if not cut:
        return None
    return (
        f"{cut} of {len(examples)} rows are longer than max_length={max_length} tokens; "
        "their response (then question) was cut to fit for training"
    )


def collate(examples: Sequence[TrainingExample], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch: ``input_ids``, ``attention_mask`` and ``labels`` of shape [B, T]."""
    width = max(len(example.input_ids) for example in examples)
    input_ids = torch.full((len(examples), width), pad_token_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    for index, example in enumerate(examples):
        length = len(example.input_ids)
        input_ids[index, :length] = torch.tensor(example.input_ids)
        labels[index, :length] = torch.tensor(example.labels)
        attention_mask[index, :length] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def _prompt_ids(
    tokenizer: PreTrainedTokenizerBase, question: str, response: str | None
) -> list[int]:
    text = build_chat_prompt(tokenizer, question, response)
    return tokenizer(text, add_special_tokens=False).input_ids
