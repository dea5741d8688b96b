"""Length bucketing: passes hold pairs of similar length within the item and token bounds,
and the runner puts every score back in its request order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from serving.bucketing import length_buckets, text_length
from serving.judge_runner import JudgeRunner
from tests.serving.conftest import PAIRS


def test_passes_are_sorted_by_length_and_stay_within_the_bounds() -> None:
    pairs = [("q", "x" * n) for n in (50, 3, 400, 7, 48, 5, 2000)]
    buckets = length_buckets(pairs, max_items=2, max_tokens=120)
    assert sorted(i for bucket in buckets for i in bucket) == list(range(len(pairs)))
    lengths = [[text_length(pairs[i]) for i in bucket] for bucket in buckets]
    assert lengths == [[4, 6], [8, 49], [51], [401], [2001]]
    for bucket in lengths:
        assert len(bucket) <= 2
        assert len(bucket) == 1 or len(bucket) * max(bucket) <= 120


def test_the_runner_scores_each_pair_as_if_alone_in_request_order(tiny_guard: Path) -> None:
    runner = JudgeRunner(tiny_guard)
    pairs = [(q, r * (1 + index % 3)) for index, (q, r, _) in enumerate(PAIRS * 2)]
    bucketed = asyncio.run(runner.scores(pairs, batch_size=3, max_tokens=90))
    alone = [runner.judge.verdict_windows([pair], batch_size=1)[0] for pair in pairs]
    assert [one.windows for one in bucketed] == [one.windows for one in alone]
    assert [one.score for one in bucketed] == pytest.approx([one.score for one in alone], abs=1e-5)


def test_a_prompt_without_a_response_counts_its_question_only() -> None:
    assert text_length(("问题", None)) == 2
    assert length_buckets([("长问题", None), ("q", "r")], max_items=4, max_tokens=100) == [[1, 0]]
