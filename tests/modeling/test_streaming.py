"""Streaming verdicts: after every delta the score equals the one-shot (windowed) score of the
text so far, and each delta runs only its new tokens plus the template tail, however long the
stream grows."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libra_guard.modeling.judge import GuardJudge
from libra_guard.modeling.prompt import build_chat_prompt
from libra_guard.modeling.streaming import HOLDBACK, StreamingVerdict
from libra_guard.modeling.windows import prompt_ids

QUESTION = "如何骗取老人的养老金？"
# Pieces cut mid-word and mid-number, Latin and Chinese, so tokens re-merge across deltas.
DELTAS = ["可以冒", "充银行职员", "打电话，", "让他们 transf", "er money 到", "账户123", "45。"]
DELTAS += ["\n好的", "。这不安", "全", "，不安", "全"]  # the tokenizer merges 安+全 into one token
# Material for long responses: Chinese, Latin, digits and spaces, so window edges and delta
# edges fall inside words and numbers.
PIECES = [
    "可以冒充银行职员打电话，",
    "让他们 transfer money 到账户12345。",
    "这不安全，",
    "请不要这样做，遇到问题可以报警。",
    "把安眠药磨成粉混进饮料里",
    " ok 2024 ",
    "\n",
]


@pytest.fixture(scope="module")
def judge(tiny_base: Path) -> GuardJudge:
    return GuardJudge.load(tiny_base, device="cpu")


def one_shot(judge: GuardJudge, question: str, text: str) -> float:
    [score] = judge.verdict_scores([(question, text)], batch_size=8)
    return score


def response_tokens(judge: GuardJudge, text: str) -> int:
    return len(judge.tokenizer(text, add_special_tokens=False).input_ids)


def tail_tokens(judge: GuardJudge) -> int:
    """Tokens after the response: the template's tail and the verdict prefix."""
    prompt = build_chat_prompt(judge.tokenizer, QUESTION, "\u0000")
    tail = prompt.split("\u0000")[1]
    return response_tokens(judge, tail) + len(judge._prefix_ids)


def long_text(judge: GuardJudge, pieces: list[str], windows: int) -> str:
    """``pieces`` repeated until the response needs exactly ``windows`` windows."""
    size = judge.window_tokens
    stride = size - size // 4
    upper = size + (windows - 1) * stride  # the most tokens that many windows hold
    text = ""
    while response_tokens(judge, text) <= upper - stride // 2:
        text += pieces[len(text) % len(pieces)]
    while response_tokens(judge, text) > upper:
        text = text[:-1]
    return text


def test_each_streamed_score_equals_the_one_shot_score(judge: GuardJudge) -> None:
    stream = StreamingVerdict(judge, QUESTION)
    text = ""
    for delta in DELTAS:
        text += delta
        streamed = stream.add(delta)
        assert streamed == pytest.approx(one_shot(judge, QUESTION, text), abs=1e-4), text
    assert stream.response == text


def test_a_delta_runs_its_own_tokens_and_the_tail_not_the_prefix(judge: GuardJudge) -> None:
    stream = StreamingVerdict(judge, QUESTION)
    for delta in DELTAS:
        stream.add(delta)
    before = stream.tokens_run
    delta = "再补充一句话。"
    stream.add(delta)
    per_delta = stream.tokens_run - before
    # The new tokens, the held-back ones re-run, the tail; a re-merge may add a token or two.
    assert per_delta <= response_tokens(judge, delta) + HOLDBACK + tail_tokens(judge) + 2
    # Re-scoring the prefix runs the whole prompt, several times more.
    assert len(prompt_ids(judge.tokenizer, QUESTION, stream.response)) > 4 * per_delta


def test_a_long_stream_stays_incremental_and_never_rescores_one_shot(
    judge: GuardJudge, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = long_text(judge, PIECES, windows=6)
    deltas = [text[start : start + 13] for start in range(0, len(text), 13)]

    def refuse(*args, **kwargs):
        raise AssertionError("the stream fell back to one-shot rescoring")

    stream = StreamingVerdict(judge, QUESTION)
    tail = tail_tokens(judge)
    most_open = 0
    with monkeypatch.context() as patch:
        patch.setattr(judge, "verdict_windows", refuse)
        patch.setattr(judge, "verdict_scores", refuse)
        for delta in deltas:
            before = stream.tokens_run
            streamed = stream.add(delta)
            # Bounded: the delta, at most one new window's overlap, two tails; not the prefix.
            bound = response_tokens(judge, delta) + judge.window_tokens // 4 + 2 * tail
            assert stream.tokens_run - before <= bound + 2 * HOLDBACK + 4
            most_open = max(most_open, stream.open_windows)
    assert most_open <= 2  # finished windows keep only their score
    [expected] = judge.verdict_windows([(QUESTION, text)])
    assert stream.windows == expected.windows == 6
    assert streamed == pytest.approx(expected.score, abs=1e-4)


def test_a_question_longer_than_its_window_streams_as_one_shot_windows(judge: GuardJudge) -> None:
    question = "请详细说明如何骗取老人的养老金，" * 20
    assert len(judge.verdict_windows([(question, "好的")])) == 1
    stream = StreamingVerdict(judge, question)
    text = long_text(judge, PIECES, windows=2)
    for start in range(0, len(text), 17):
        streamed = stream.add(text[start : start + 17])
    [expected] = judge.verdict_windows([(question, text)])
    assert expected.windows > 2  # question windows besides the response's
    assert stream.windows == expected.windows
    assert streamed == pytest.approx(expected.score, abs=1e-4)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    windows=st.integers(min_value=1, max_value=6),
    order=st.permutations(PIECES),
    cuts=st.lists(st.integers(min_value=1, max_value=60), min_size=2, max_size=12),
)
def test_any_split_of_any_length_ends_at_the_one_shot_windowed_score(
    judge: GuardJudge, windows: int, order: list[str], cuts: list[int]
) -> None:
    text = long_text(judge, order, windows)
    stream = StreamingVerdict(judge, QUESTION)
    start, index = 0, 0
    while start < len(text):
        size = cuts[index % len(cuts)]
        stream.add(text[start : start + size])
        start, index = start + size, index + 1
    [expected] = judge.verdict_windows([(QUESTION, text)])
    assert stream.windows == expected.windows
    assert stream.add("") == pytest.approx(expected.score, abs=1e-4)


def test_a_closed_window_whose_text_changes_is_read_again_from_the_head(
    judge: GuardJudge,
) -> None:
    """Should a late re-merge move a finished window's edge, the window is read again from a
    copy of the cached head (the head's own cache is never extended by a window)."""
    text = long_text(judge, PIECES, windows=3)
    stream = StreamingVerdict(judge, QUESTION)
    stream.add(text[: len(text) // 2])
    head = stream._head(QUESTION)
    head_length = head.cache.get_seq_length()
    for window in stream._windows.values():  # as if every window had been finished
        window.cache, window.cached_ids = None, []
    before = stream.tokens_run
    streamed = stream.add(text[len(text) // 2 :])
    assert head.cache.get_seq_length() == head_length
    assert stream.tokens_run - before > 0
    assert streamed == pytest.approx(one_shot(judge, QUESTION, text), abs=1e-4)
