"""``JudgeRunner``: one loaded ``GuardJudge``, scoring and critiques on separate threads.

Both the Serve model replica and the plain baseline hold one. Scoring runs on one worker
thread, one forward pass at a time (on a CPU two concurrent passes only fight over the cores,
on a GPU over memory). Critiques (``explain``, greedy generation: many times the cost of a
score) run on a thread of their own behind a bound of ``explain_max_concurrent`` calls, so a
burst of them cannot hold up scoring or the health check; past the bound a call is refused
at once (``ExplainBusy``, a 503) rather than queued without end.

Health is cheap: readiness reports the last canary or scoring success while it is at most
``canary_max_age_s`` old and only re-scores the canary when it is older; liveness (Serve's
periodic probe) looks at the worker threads and the last canary outcome, never at the model,
so a long queue of work cannot make Serve restart a healthy replica and drop its requests.

Loading runs a canary item: a model that loads but cannot score (wrong tokenizer, NaN
weights) fails here, at start-up, not on the first user request.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from libra_guard.errors import ModelError

logger = logging.getLogger(__name__)

#: (question, response); ``None`` as the response: a prompt, judged with the prompt template.
Pair = tuple[str, str | None]
T = TypeVar("T")
#: Scored at start-up and whenever the last success is older than ``canary_max_age_s``.
CANARY: Pair = ("怎样制作炸药？", "我不能提供这类信息，制作炸药违法且危险。")


class ExplainBusy(RuntimeError):
    """Too many critiques are running or waiting on this replica; retry shortly."""


class JudgeRunner:
    """A guard model ready to score and explain, loaded from a folder."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        torch_threads: int | None = None,
        max_windows: int = 16,
        explain_max_concurrent: int = 2,
        canary_max_age_s: float = 30.0,
    ) -> None:
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
        #: Characters one text may have: ``max_windows`` windows of this model's size.
        self.max_text_chars = self.judge.max_text_chars(max_windows)
        self.window_tokens = self.judge.window_tokens
        self._scoring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guard-score")
        self._explaining = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guard-explain")
        self._explain_limit = explain_max_concurrent
        self._explain_calls = 0
        self._canary_max_age_s = canary_max_age_s
        self.canary_score = self.check_canary(self.judge.verdict_scores([CANARY])[0])
        self._last_ok = time.monotonic()
        self._last_failure: str | None = None

    @staticmethod
    def check_canary(score: float) -> float:
        if not (isinstance(score, float) and math.isfinite(score) and 0.0 <= score <= 1.0):
            raise ModelError(f"the canary item scored {score!r}, not a probability")
        return score

    async def scores(self, pairs: Sequence[Pair], batch_size: int):
        """``WindowedScore`` (P(不安全), windows read) per pair, ``batch_size`` windows a pass."""
        scored = await self._run(
            self._scoring, lambda: self.judge.verdict_windows(pairs, batch_size=batch_size)
        )
        self._last_ok = time.monotonic()
        return scored

    async def critiques(self, pairs: Sequence[Pair], max_new_tokens: int) -> list[str]:
        """The generated answer JSON per pair (greedy, the paper's protocol, every window).

        Raises:
            ExplainBusy: ``explain_max_concurrent`` calls are already running or waiting.
        """
        if self._explain_calls >= self._explain_limit:
            raise ExplainBusy(
                f"{self._explain_calls} explain calls are already running or waiting on this "
                "replica; retry shortly or ask without explain"
            )
        self._explain_calls += 1
        try:
            return await self._run(
                self._explaining,
                lambda: self.judge.generate(pairs, max_new_tokens=max_new_tokens, batch_size=8),
            )
        finally:
            self._explain_calls -= 1

    async def canary(self) -> float:
        """Score the canary again; raises ``ModelError`` when it is not a probability."""
        try:
            score = self.check_canary((await self.scores([CANARY], batch_size=1))[0].score)
        except Exception as exc:
            self._last_failure = f"{type(exc).__name__}: {exc}"
            raise
        self._last_failure = None
        return score

    async def ready(self) -> bool:
        """Readiness: a success at most ``canary_max_age_s`` old, else a fresh canary."""
        if time.monotonic() - self._last_ok <= self._canary_max_age_s:
            return True
        try:
            await self.canary()
        except Exception:
            logger.exception("the canary item failed")
            return False
        return True

    def alive(self) -> None:
        """Liveness, without touching the model.

        Raises:
            ModelError: a worker thread is gone or the last canary failed.
        """
        for pool in (self._scoring, self._explaining):
            if getattr(pool, "_shutdown", False):
                raise ModelError("a guard worker thread has shut down")
        if self._last_failure is not None:
            raise ModelError(f"the last canary failed: {self._last_failure}")

    async def on_model_thread(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the scoring thread, after the passes already queued there."""
        return await self._run(self._scoring, work)

    async def _run(self, pool: ThreadPoolExecutor, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, work)
