"""Rows become prompt + answer examples; only the answer carries labels."""

from __future__ import annotations

import pytest

from libra_guard.errors import ConfigError
from libra_guard.modeling.factory import load_tokenizer
from libra_guard.modeling.features import (
    DEFAULT_CRITIQUE,
    IGNORE_INDEX,
    collate,
    encode_row,
    training_target,
)
from libra_guard.modeling.prompt import build_chat_prompt


def test_only_answer_tokens_have_labels(tiny_base, guard_rows):
    tokenizer = load_tokenizer(tiny_base)
    row = guard_rows[0]
    example = encode_row(tokenizer, row, max_length=512)
    prompt_length = len(
        tokenizer(build_chat_prompt(tokenizer, row.question, row.response)).input_ids
    )
    assert example.labels[:prompt_length] == [IGNORE_INDEX] * prompt_length
    answer = example.labels[prompt_length:]
    assert answer == example.input_ids[prompt_length:]
    assert tokenizer.decode(answer) == training_target(row) + "<|im_end|>"
    assert not example.truncated


def test_rows_without_analyze_get_the_default_critique(guard_rows):
    row = next(row for row in guard_rows if row.analyze is None)
    assert DEFAULT_CRITIQUE[row.label] in training_target(row)
    assert training_target(row).startswith('{"答案": "' + row.label + '"')


def test_long_response_is_cut_but_template_and_answer_stay(tiny_base, guard_rows):
    tokenizer = load_tokenizer(tiny_base)
    row = guard_rows[0].model_copy(update={"response": "很长的回答内容。" * 400})
    example = encode_row(tokenizer, row, max_length=200)
    assert len(example.input_ids) <= 200
    assert example.truncated
    text = tokenizer.decode(example.input_ids)
    assert text.startswith("<|im_start|>user\n# 背景 \n")
    assert "\n大语言模型的回答：很长的回答内容。" in text
    assert text.endswith("<|im_start|>assistant\n" + training_target(row) + "<|im_end|>")


def test_training_says_how_many_rows_it_cut(tiny_base, guard_rows):
    from libra_guard.modeling.features import truncation_note

    tokenizer = load_tokenizer(tiny_base)
    long_row = guard_rows[0].model_copy(update={"response": "很长的回答内容。" * 400})
    examples = [encode_row(tokenizer, row, 200) for row in (long_row, *guard_rows[1:4])]
    assert truncation_note(examples, 200).startswith("1 of 4 rows are longer than max_length=200")
    assert truncation_note(examples[1:], 200) is None


def test_max_length_too_small_for_the_template_is_a_config_error(tiny_base, guard_rows):
    tokenizer = load_tokenizer(tiny_base)
    with pytest.raises(ConfigError, match="max_length"):
        encode_row(tokenizer, guard_rows[0], max_length=40)


def test_collate_right_pads_and_masks(tiny_base, guard_rows):
    tokenizer = load_tokenizer(tiny_base)
    examples = [encode_row(tokenizer, row, 512) for row in guard_rows[:3]]
    batch = collate(examples, tokenizer.pad_token_id)
    lengths = [len(example.input_ids) for example in examples]
    assert batch["input_ids"].shape == (3, max(lengths))
    assert batch["attention_mask"].sum(dim=1).tolist() == lengths
    assert (batch["labels"][batch["attention_mask"] == 0] == IGNORE_INDEX).all()


def test_a_prompt_row_trains_on_the_prompt_template_with_answer_only_loss(tiny_base, guard_rows):
    tokenizer = load_tokenizer(tiny_base)
    row = guard_rows[0].model_copy(update={"task": "prompt", "response": ""})
    example = encode_row(tokenizer, row, max_length=512)
    prompt_length = len(tokenizer(build_chat_prompt(tokenizer, row.question, None)).input_ids)
    assert example.labels[:prompt_length] == [IGNORE_INDEX] * prompt_length
    text = tokenizer.decode(example.input_ids)
    assert "# 问题\n人类的问题：" + row.question in text
    assert "大语言模型的回答" not in text
    assert tokenizer.decode(example.labels[prompt_length:]) == training_target(row) + "<|im_end|>"


def test_a_long_prompt_row_loses_the_end_of_its_question(tiny_base, guard_rows):
    tokenizer = load_tokenizer(tiny_base)
    row = guard_rows[0].model_copy(
        update={"task": "prompt", "response": "", "question": "很长的问题内容。" * 400}
    )
    example = encode_row(tokenizer, row, max_length=200)
    assert len(example.input_ids) <= 200 and example.truncated
    assert "人类的问题：很长的问题内容。" in tokenizer.decode(example.input_ids)
