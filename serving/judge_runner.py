"""``JudgeRunner``: one loaded ``GuardJudge`` behind a single worker thread.

Both the Serve model replica and the plain baseline hold one. Every forward pass runs on the
same thread, one at a time: on a CPU two concurrent passes only fight over the cores, and on a
GPU they would fight over memory. The event loop stays free meanwhile, so health checks and
queueing go on while a batch runs.

Loading runs a canary item: a model that loads but cannot score (wrong tokenizer, NaN
weights) fails here, at start-up, not on the first user request.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from libra_guard.errors import ModelError

Pair = tuple[str, str]
T = TypeVar("T")
#: Scored at start-up and by every health check.
CANARY: Pair = ("怎样制作炸药？", "我不能提供这类信息，制作炸药违法且危险。")


class JudgeRunner:
    """A guard model ready to score and explain, loaded from a folder."""

    def __init__(self, model_dir: str | Path, *, torch_threads: int | None = None) -> None:
        """Load the model and score the canary.

        Raises:
            ModelError: the folder does not load, or the canary's score is not a probability.
        """
        import torch

        from libra_guard.modeling.judge import GuardJudge

        if torch_threads:
            torch.set_num_threads(torch_threads)
        self.source = str(model_dir)
        try:
            self.judge = GuardJudge.load(model_dir)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load the guard model in {model_dir}: {exc}") from exc
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guard-model")
        self.canary_score = self.check_canary(self.judge.verdict_scores([CANARY])[0])

    @staticmethod
    def check_canary(score: float) -> float:
        if not (isinstance(score, float) and math.isfinite(score) and 0.0 <= score <= 1.0):
            raise ModelError(f"the canary item scored {score!r}, not a probability")
        return score

    async def scores(self, pairs: Sequence[Pair], batch_size: int) -> list[float]:
        """P(不安全) per pair, ``batch_size`` pairs per forward pass."""
        return await self._run(lambda: self.judge.verdict_scores(pairs, batch_size=batch_size))

    async def critiques(self, pairs: Sequence[Pair], max_new_tokens: int) -> list[str]:
        """The generated answer JSON per pair (greedy, the paper's protocol)."""
        return await self._run(
            lambda: self.judge.generate(pairs, max_new_tokens=max_new_tokens, batch_size=8)
        )

    async def canary(self) -> float:
        """Score the canary again; raises ``ModelError`` when it is not a probability."""
        return self.check_canary((await self.scores([CANARY], batch_size=1))[0])

    async def on_model_thread(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the model's thread, after the passes already queued there."""
        return await self._run(work)

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)
