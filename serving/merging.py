"""``WaitingMerger``: scoring calls that wait for a busy model run together when it frees.

A model replica scores one call at a time (one scoring thread). Calls that arrive while it
is busy would each wait, then each run as a batch of their own size; merged, they run as one
batch of their total size as soon as the model is free, with no timer: an idle model takes
the first call at once, a busy one collects everything that arrives meanwhile. So the batch
size follows the load, up to ``max_pairs`` pairs a trip, and the ingress's short batch wait
no longer decides how full a pass is.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

Pair = tuple[str, str]


class WaitingMerger:
    """``score(pairs)`` through ``score_batch``, merging the calls that wait."""

    def __init__(
        self, score_batch: Callable[[list[Pair]], Awaitable[list]], max_pairs: int
    ) -> None:
        self._score_batch = score_batch
        self._max_pairs = max_pairs
        self._waiting: deque[tuple[list[Pair], asyncio.Future]] = deque()
        self._worker: asyncio.Task | None = None

    async def score(self, pairs: Sequence[Pair]) -> list:
        """The results for ``pairs``, in order (the batch function's exception if it fails)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((list(pairs), future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            taken = self._take()
            if not taken:
                continue
            try:
                scored = await self._score_batch([pair for pairs, _ in taken for pair in pairs])
            except Exception as exc:
                for _, future in taken:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for pairs, future in taken:
                if not future.done():  # a caller that timed out has cancelled its future
                    future.set_result(scored[start : start + len(pairs)])
                start += len(pairs)

    def _take(self) -> list[tuple[list[Pair], asyncio.Future]]:
        """Waiting calls in arrival order up to ``max_pairs`` pairs (a larger call alone)."""
        taken: list[tuple[list[Pair], asyncio.Future]] = []
        total = 0
        while self._waiting:
            pairs, future = self._waiting[0]
            if taken and total + len(pairs) > self._max_pairs:
                break
            self._waiting.popleft()
            if future.cancelled():
                continue
            taken.append((pairs, future))
            total += len(pairs)
        return taken
