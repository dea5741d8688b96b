"""What the HTTP API needs of a model (``GuardBackend``), and how items become verdicts.

Two backends implement it: ``app.ServeBackend`` calls the model replicas through Serve
handles; ``LocalBackend`` holds a ``JudgeRunner`` in the same process (the plain baseline and
the in-process API tests). The API code is the same for both, so the baseline measures Serve's
cost and nothing else.

Prompt moderation: an item without a response is judged with our prompt-task template
(``libra_guard.modeling.prompt``: is the QUESTION itself unsafe?, Libra's output format), which
our guards are trained on (``task: "prompt"`` rows); ``to_pair`` hands the model
``(question, None)`` and the model builds that template, windowing a long question by the
same rule as a long response. Libra's released weights were not trained for it.
``task: "prompt"`` in the result says which task was judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from libra_guard.data.schema import SAFE, UNSAFE
from libra_guard.levels import LevelThresholds
from serving.config import ServingConfig
from serving.http_errors import Overloaded
from serving.judge_runner import ExplainBusy, Pair
from serving.schemas import (
    VERDICT_OF_LABEL,
    Health,
    ItemResult,
    Level,
    ModelDescription,
    ModelRef,
    ModerationItem,
    Policy,
    Verdict,
)

#: The reasons /healthz gives: fixed phrases, so no exception text (paths, hosts) leaks.
CANARY_FAILED = "the canary item did not score"
CANARY_TIMED_OUT = "the canary item did not score in time"
NO_MODEL = "no model is ready"


@dataclass(frozen=True)
class Scored:
    """P(不安全) of one pair (maximum over its windows), windows read, the model version and
    that version's calibrated level thresholds (``None``: not calibrated)."""

    score: float
    model: ModelRef
    windows: int = 1
    levels: LevelThresholds | None = None


def levels_of(description: ModelDescription) -> LevelThresholds | None:
    """The three-level thresholds stored with a registered version (lineage ``levels``)."""
    stored = description.lineage.get("levels") or {}
    try:
        return LevelThresholds.model_validate(stored) if stored else None
    except ValueError:
        return None


def judge_level(
    score: float, levels: LevelThresholds | None, threshold: float, policy: Policy
) -> tuple[Level, Verdict]:
    """The level and the binary verdict of one score.

    Without calibrated thresholds the single ``threshold`` decides and there is no
    controversial band, so an uncalibrated model answers exactly as before.
    """
    if levels is None:
        verdict: Verdict = "unsafe" if score >= threshold else "safe"
        return verdict, verdict
    return levels.level(score), levels.verdict(score, policy)


class GuardBackend(Protocol):
    """The model side of the API."""

    async def score(self, pairs: Sequence[Pair]) -> list[Scored]: ...

    async def explain(self, pairs: Sequence[Pair]) -> list[str]: ...

    async def describe(self) -> ModelDescription: ...

    async def health(self) -> Health: ...

    async def text_limit(self) -> int | None:
        """Characters one question/response may have, from the loaded model's window."""
        ...


def to_pair(item: ModerationItem) -> Pair:
    """The (question, response) the guard judges; ``(question, None)`` for a prompt, which
    selects the prompt-task template (see the module docstring)."""
    return item.question, item.response


def build_results(
    items: Sequence[ModerationItem],
    scored: Sequence[Scored],
    critiques: Sequence[str] | None,
    threshold: float,
    policy: Policy = "strict",
) -> list[ItemResult]:
    """One ``ItemResult`` per item, in order; ``policy`` judges the controversial band."""
    results = []
    for index, (item, one) in enumerate(zip(items, scored, strict=True)):
        level, verdict = judge_level(one.score, one.levels, threshold, policy)
        label = UNSAFE if verdict == "unsafe" else SAFE
        result = ItemResult(
            verdict=verdict,
            level=level,
            label=label,
            score=min(1.0, max(0.0, one.score)),
            windows=one.windows,
            task="prompt" if item.response is None else "response",
            model=one.model,
        )
        if critiques is not None:
            # Imported here: the evaluation package pulls in plotting, which the ingress
            # replicas never need unless a critique is asked for.
            from libra_guard.evaluation.scoring import score_text

            critique = critiques[index]
            stated = score_text(critique)
            result.critique = critique
            result.critique_verdict = VERDICT_OF_LABEL[stated] if stated else None
        results.append(result)
    return results


class LocalStream:
    """One open stream: each ``add`` scores the response so far on the model's thread."""

    def __init__(self, runner, verdict, ref: ModelRef, levels: LevelThresholds | None) -> None:
        self._runner, self._verdict, self._ref, self._levels = runner, verdict, ref, levels

    async def add(self, delta: str) -> Scored:
        score = await self._runner.on_model_thread(lambda: self._verdict.add(delta))
        return Scored(min(1.0, max(0.0, score)), self._ref, levels=self._levels)


class LocalBackend:
    """A ``JudgeRunner`` in this process, as a ``GuardBackend``."""

    def __init__(self, runner, description: ModelDescription, config: ServingConfig) -> None:
        self._runner = runner
        self._description = description.model_copy(
            update={"max_chars": runner.max_text_chars, "window_tokens": runner.window_tokens}
        )
        self._ref = ModelRef(name=description.name, version=description.version)
        self._levels = levels_of(description)
        self._config = config

    async def score(self, pairs: Sequence[Pair]) -> list[Scored]:
        scored = await self._runner.scores(pairs, batch_size=self._config.batch_max_size)
        return [Scored(one.score, self._ref, one.windows, self._levels) for one in scored]

    async def explain(self, pairs: Sequence[Pair]) -> list[str]:
        try:
            return await self._runner.critiques(pairs, self._config.explain_max_new_tokens)
        except ExplainBusy as exc:
            raise Overloaded(str(exc), self._config.retry_after_s) from exc

    async def open_stream(self, question: str) -> LocalStream:
        """A streaming judgement of a response to ``question`` (the prefix cached now)."""
        from libra_guard.modeling.streaming import StreamingVerdict

        verdict = await self._runner.on_model_thread(
            lambda: StreamingVerdict(self._runner.judge, question)
        )
        return LocalStream(self._runner, verdict, self._ref, self._levels)

    async def describe(self) -> ModelDescription:
        return self._description

    async def text_limit(self) -> int | None:
        return self._runner.max_text_chars

    async def health(self) -> Health:
        if not await self._runner.ready():
            return Health(status="unavailable", reason=CANARY_FAILED)
        return Health(status="ready", model=self._ref)
