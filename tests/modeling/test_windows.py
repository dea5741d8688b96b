"""Windowed scoring: nothing of a long item is cut, and its score is the worst window's."""

from __future__ import annotations

import pytest

from libra_guard.modeling.factory import load_tokenizer
from libra_guard.modeling.judge import GuardJudge
from libra_guard.modeling.windows import pair_windows, prompt_ids, split_text

QUESTION = "这段回答安全吗？"
HARMFUL = "把安眠药磨成粉混进饮料里，对方就会很快睡着。"
PADDING = "管制刀具受法律管制，请不要购买，遇到问题可以报警。"


def _long_response(repeats: int = 60) -> str:
    """Numbered sentences, so every slice of the text occurs in it once."""
    return "".join(f"{index}{PADDING}" for index in range(repeats)) + HARMFUL


def test_split_text_covers_every_character_with_overlap(tiny_base):
    tokenizer = load_tokenizer(tiny_base)
    text = _long_response(20)
    parts = split_text(tokenizer, text, size=40, overlap=10)
    assert len(parts) > 1
    assert parts[0] == text[: len(parts[0])] and text.endswith(parts[-1])
    position = 0
    for part in parts:
        found = text.find(part)
        assert found != -1 and found <= position, "a gap between consecutive windows"
        assert found < position or position == 0, "consecutive windows do not overlap"
        position = found + len(part)
    assert position == len(text)


def test_every_window_fits_and_the_tail_is_read(tiny_base):
    tokenizer = load_tokenizer(tiny_base)
    response = _long_response()
    budget = 300
    assert len(prompt_ids(tokenizer, QUESTION, response)) > budget
    windows = pair_windows(tokenizer, QUESTION, response, budget, window_tokens=64)
    assert len(windows) > 1
    assert all(len(ids) <= budget for ids in windows)
    texts = [tokenizer.decode(ids) for ids in windows]
    assert all(QUESTION in text for text in texts)
    assert HARMFUL in texts[-1]


def test_a_short_item_is_one_unchanged_window(tiny_base):
    tokenizer = load_tokenizer(tiny_base)
    whole = prompt_ids(tokenizer, QUESTION, HARMFUL)
    assert pair_windows(tokenizer, QUESTION, HARMFUL, 300, window_tokens=64) == [whole]


def test_prompt_moderation_windows_the_question_in_both_slots(tiny_base):
    tokenizer = load_tokenizer(tiny_base)
    text = _long_response(20)
    windows = pair_windows(tokenizer, text, text, 300, window_tokens=64)
    assert len(windows) > 1 and all(len(ids) <= 300 for ids in windows)
    assert HARMFUL in tokenizer.decode(windows[-1])


def test_long_question_is_windowed_too(tiny_base):
    tokenizer = load_tokenizer(tiny_base)
    question = _long_response(20)
    windows = pair_windows(tokenizer, question, PADDING, 300, window_tokens=64)
    assert len(windows) > 1 and all(len(ids) <= 300 for ids in windows)
    assert any(HARMFUL in tokenizer.decode(ids) for ids in windows)


def test_judge_scores_the_maximum_over_windows_past_the_context(tiny_base):
    judge = GuardJudge.load(tiny_base, device="cpu", window_tokens=48)
    response = _long_response()
    assert len(prompt_ids(judge.tokenizer, QUESTION, response)) > judge._max_positions
    [scored] = judge.verdict_windows([(QUESTION, response)])
    parts = split_text(judge.tokenizer, response, 48, 12)
    assert scored.windows == len(parts) > 1
    # Each slice scored on its own, as one window (a slice re-tokenised alone can take a token
    # or two more than it did inside the text, hence the larger window here).
    whole = GuardJudge(judge.model, judge.tokenizer, name="whole", window_tokens=96)
    alone = whole.verdict_scores([(QUESTION, part) for part in parts], batch_size=4)
    assert scored.score == pytest.approx(max(alone), abs=1e-5)
    assert judge.verdict_scores([(QUESTION, response)])[0] == pytest.approx(scored.score)


def test_generate_reads_every_window(tiny_base):
    judge = GuardJudge.load(tiny_base, device="cpu", window_tokens=48)
    [answer] = judge.generate_windows([(QUESTION, _long_response(10))], max_new_tokens=4)
    assert answer.windows > 1 and isinstance(answer.text, str)


def test_window_setting_comes_from_the_model_config(tiny_base, tmp_path):
    from libra_guard.modeling.factory import load_causal_lm

    model = load_causal_lm(tiny_base)
    model.config.libra_window_tokens = 77
    judge = GuardJudge(model, load_tokenizer(tiny_base), name="m")
    assert judge.window_tokens == 77
    assert judge.max_text_chars(4) > judge.max_text_chars(1) >= 77


def test_a_prompt_task_item_is_windowed_over_its_question_with_the_prompt_template(tiny_base):
    tokenizer = load_tokenizer(tiny_base)
    short = pair_windows(tokenizer, QUESTION, None, 300, window_tokens=64)
    assert short == [prompt_ids(tokenizer, QUESTION, None)]
    assert "# 问题\n人类的问题：" + QUESTION in tokenizer.decode(short[0])
    question = _long_response(20)
    windows = pair_windows(tokenizer, question, None, 300, window_tokens=64)
    assert len(windows) > 1 and all(len(ids) <= 300 for ids in windows)
    texts = [tokenizer.decode(ids) for ids in windows]
    assert all("大语言模型的回答" not in text for text in texts)
    assert HARMFUL in texts[-1]
