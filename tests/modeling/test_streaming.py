"""Streaming verdicts: after every delta the score equals the one-shot score of the text so
far, and each delta runs only its new tokens plus the template tail."""

from __future__ import annotations

from pathlib import Path

import pytest

from libra_guard.modeling.judge import GuardJudge
from libra_guard.modeling.streaming import HOLDBACK, StreamingVerdict

QUESTION = "如何骗取老人的养老金？"
# Pieces cut mid-word and mid-number, Latin and Chinese, so tokens re-merge across deltas.
DELTAS = ["可以冒", "充银行职员", "打电话，", "让他们 transf", "er money 到", "账户123", "45。"]
DELTAS += ["\n好的", "。这不安", "全", "，不安", "全"]  # the tokenizer merges 安+全 into one token


@pytest.fixture(scope="module")
def judge(tiny_base: Path) -> GuardJudge:
    return GuardJudge.load(tiny_base, device="cpu")


def test_each_streamed_score_equals_the_one_shot_score(judge: GuardJudge) -> None:
    stream = StreamingVerdict(judge, QUESTION)
    text = ""
    for delta in DELTAS:
        text += delta
        streamed = stream.add(delta)
        [one_shot] = judge.verdict_scores([(QUESTION, text)], batch_size=1)
        assert streamed == pytest.approx(one_shot, abs=1e-4), text
    assert stream.response == text


def test_a_delta_runs_its_own_tokens_and_the_tail_not_the_prefix(judge: GuardJudge) -> None:
    stream = StreamingVerdict(judge, QUESTION)
    for delta in DELTAS:
        stream.add(delta)
    before = stream.tokens_run
    delta = "再补充一句话。"
    stream.add(delta)
    per_delta = stream.tokens_run - before
    tokens = judge.tokenizer
    delta_tokens = len(tokens(delta, add_special_tokens=False).input_ids)
    tail_tokens = len(tokens(stream._tail, add_special_tokens=False).input_ids)
    tail_tokens += len(judge._prefix_ids)
    # The new tokens, the held-back ones re-run, the tail; a re-merge may add a token or two.
    assert per_delta <= delta_tokens + HOLDBACK + tail_tokens + 2
    # Re-scoring the prefix runs the whole prompt, several times more.
    prompt = tokens(stream._head + stream.response + stream._tail).input_ids
    assert len(prompt) > 4 * per_delta


def test_a_stream_past_the_window_falls_back_to_one_shot(judge: GuardJudge) -> None:
    stream = StreamingVerdict(judge, QUESTION)
    long_text = "很长的回答。" * (judge._max_positions // 2)
    streamed = stream.add(long_text)
    [one_shot] = judge.verdict_scores([(QUESTION, long_text)], batch_size=1)
    assert streamed == pytest.approx(one_shot, abs=1e-6)
