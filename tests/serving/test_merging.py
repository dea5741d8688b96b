"""Calls that wait while the model is busy run as one batch, each gets its own results back,
and a failed batch fails every caller in it, never another."""

from __future__ import annotations

import asyncio

import pytest

from serving.merging import WaitingMerger


def test_calls_waiting_for_a_busy_model_are_merged_into_one_batch() -> None:
    batches: list[list] = []

    async def score_batch(pairs):
        batches.append(list(pairs))
        await asyncio.sleep(0.05)
        return [f"score of {question}" for question, _ in pairs]

    async def scenario():
        merger = WaitingMerger(score_batch, max_pairs=3)
        first = asyncio.create_task(merger.score([("a", "")]))
        await asyncio.sleep(0.01)  # the model is busy with "a" now
        rest = [merger.score([(name, "")]) for name in "bcde"]
        return await first, await asyncio.gather(*rest)

    first, rest = asyncio.run(scenario())
    assert first == ["score of a"]
    assert rest == [[f"score of {name}"] for name in "bcde"]
    assert [len(batch) for batch in batches] == [1, 3, 1]  # at most max_pairs a batch


def test_a_failed_batch_fails_its_callers_and_the_next_batch_runs() -> None:
    calls = []

    async def score_batch(pairs):
        calls.append(len(pairs))
        if len(calls) == 1:
            raise RuntimeError("the model failed")
        return [1.0] * len(pairs)

    async def scenario():
        merger = WaitingMerger(score_batch, max_pairs=8)
        with pytest.raises(RuntimeError, match="the model failed"):
            await merger.score([("a", "")])
        return await merger.score([("b", ""), ("c", "")])

    assert asyncio.run(scenario()) == [1.0, 1.0]
