"""Evaluate a guard on labelled rows, from a model or from a file of its raw answers.

Two ways in, one way out (``outputs.write_evaluation``):

- :func:`evaluate_model` runs a guard. ``generate`` mode is the paper's protocol: greedy
  generation of at most 256 new tokens, each answer scored by the paper's rule. ``verdict``
  mode reads P(不安全) from one forward pass at the verdict position (no generation, many times
  faster) and predicts 不安全 when it reaches ``threshold``; its answer is written as
  ``{"答案": label}`` so the predictions file keeps the paper's shape.
  Either way an item longer than the model's window is read in overlapping windows and
  scored by its worst window, exactly as the service scores it; each prediction records how
  many windows were read (``windows``) and ``run.windows_read`` sums them.
- :func:`evaluate_predictions` scores answers produced elsewhere (the paper's inference
  script, another server), given as JSONL rows ``{"id": ..., "critic": "<generated text>"}``.

Rows of both tasks are judged with their own template (``GuardRow.pair``); ``metrics.json``
keeps the response task's figures at the top level (the Libra-Test headline, what the gate
checks by default) and every task's under ``by_task`` (``metrics.compute_task_metrics``);
the three levels are calibrated on the response rows.

Usage::

    metrics = evaluate_model("runs/demo/final", rows, "runs/demo/eval")
    metrics = evaluate_predictions("preds/", rows, "runs/libra-14b/eval")
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from libra_guard.data.schema import RESPONSE_TASK, SAFE, UNSAFE, GuardRow
from libra_guard.errors import ConfigError, DataError, ModelError
from libra_guard.evaluation.metrics import compute_task_metrics
from libra_guard.evaluation.outputs import prediction_records, write_evaluation
from libra_guard.evaluation.predictions import match_predictions, read_predictions
from libra_guard.evaluation.progress import RowProgress
from libra_guard.evaluation.scoring import ANSWER_FIELD, score_text
from libra_guard.levels import band_report, calibrate_levels
from libra_guard.settings import Settings

logger = logging.getLogger(__name__)

Mode = Literal["generate", "verdict"]
MODES: tuple[str, ...] = ("generate", "verdict")
#: Each side of the three levels reaches this precision on the evaluation split by default.
DEFAULT_LEVEL_PRECISION = 0.9
#: Rows handed to the judge per call, in batches: progress is reported after each call.
BATCHES_PER_CALL = 4
T = TypeVar("T")
#: (question, response); a response of ``None`` is a prompt-task item (``GuardRow.pair``).
Pair = tuple[str, str | None]


class Windowed(Protocol):
    """A result read over an item's windows (``WindowedScore``, ``WindowedAnswer``)."""

    windows: int


class Judge(Protocol):
    """What the runner needs of a guard (``libra_guard.modeling.judge.GuardJudge``)."""

    name: str

    def generate_windows(
        self, pairs: Sequence[Pair], max_new_tokens: int = 256, batch_size: int = 16
    ) -> Sequence[Windowed]: ...

    def verdict_windows(
        self, pairs: Sequence[Pair], batch_size: int = 16
    ) -> Sequence[Windowed]: ...


def evaluate_model(
    model: str | Path | Judge,
    rows: Sequence[GuardRow],
    out_dir: str | Path,
    *,
    mode: Mode = "generate",
    batch_size: int = 16,
    max_new_tokens: int = 256,
    threshold: float = 0.5,
    with_scores: bool = False,
    level_precision: float = DEFAULT_LEVEL_PRECISION,
) -> dict:
    """Run a guard on ``rows``, score it with the paper's rule and write the results.

    Args:
        model: a model folder or hub id for ``GuardJudge.load``, or an already built judge.
        rows: labelled data rows.
        out_dir: folder for ``metrics.json``, ``predictions.jsonl`` and the figures.
        mode: ``generate`` (the paper's protocol) or ``verdict`` (one forward pass per row).
        batch_size: rows per forward pass.
        max_new_tokens: generation limit in tokens (the paper uses 256).
        threshold: P(不安全) at or above which ``verdict`` mode predicts 不安全.
        with_scores: in ``generate`` mode, also compute P(不安全) per row, for ROC-AUC.
        level_precision: with scores, calibrate the three levels so each side reaches this
            precision; ``metrics["levels"]`` holds the thresholds and each level's share
            and precision (``levels.band_report``).

    Returns:
        The metrics written to ``metrics.json``.

    Raises:
        ConfigError: an unknown mode or an out-of-range number.
        DataError: no rows.
        ModelError: the model cannot be loaded or returns the wrong number of answers.
    """
    _check_options(mode, batch_size, max_new_tokens, threshold)
    if not 0.0 < level_precision <= 1.0:
        raise ConfigError(f"level precision must lie in (0, 1], got {level_precision}")
    if not rows:
        raise DataError("no data rows to evaluate")
    _require_response_rows(rows)
    judge = _load_judge(model)
    pairs = [row.pair for row in rows]
    chunk = batch_size * BATCHES_PER_CALL
    scores: list[float] | None = None
    windows: list[int] = [0] * len(rows)
    if mode == "verdict" or with_scores:
        scored = _in_chunks(
            pairs,
            chunk,
            lambda part: judge.verdict_windows(part, batch_size=batch_size),
            f"verdict scores of {judge.name}",
        )
        scores = [float(item.score) for item in scored]  # type: ignore[attr-defined]
        windows = [item.windows for item in scored]
    critics: list[str | None]
    if mode == "generate":
        answers = _in_chunks(
            pairs,
            chunk,
            lambda part: judge.generate_windows(
                part, max_new_tokens=max_new_tokens, batch_size=batch_size
            ),
            f"generating with {judge.name}",
        )
        critics = [answer.text for answer in answers]  # type: ignore[attr-defined]
        windows = [answer.windows for answer in answers]
    else:
        critics = [_verdict_answer(score, threshold) for score in scores or ()]
    run = {
        "model": judge.name,
        "mode": mode,
        "max_new_tokens": max_new_tokens if mode == "generate" else None,
        "threshold": threshold if mode == "verdict" else None,
        "windows_read": sum(windows),
        "rows_over_one_window": sum(count > 1 for count in windows),
    }
    extra = None
    if scores is not None:
        # Levels are calibrated on the response task, the headline's rows.
        chosen = [i for i, row in enumerate(rows) if row.task == RESPONSE_TASK]
        labels = [rows[i].label for i in chosen]
        scores_of_responses = [scores[i] for i in chosen]
        levels = calibrate_levels(labels, scores_of_responses, level_precision)
        extra = {"levels": band_report(levels, labels, scores_of_responses)}
    return _score_and_write(rows, critics, scores, out_dir, run, windows, extra)


def evaluate_predictions(
    predictions_uri: str | Path,
    rows: Sequence[GuardRow],
    out_dir: str | Path,
    *,
    allow_missing: bool = False,
    allow_unknown: bool = False,
    settings: Settings | None = None,
) -> dict:
    """Score raw answers from a JSONL file (or folder of shards) against ``rows``.

    Args:
        predictions_uri: JSONL rows ``{"id", "critic"}``: a file, a folder of ``*.jsonl``
            shards, ``file://`` or ``s3://``.
        rows: labelled data rows; answers are matched to them by ``id``.
        out_dir: folder for ``metrics.json``, ``predictions.jsonl`` and the figures.
        allow_missing: count data rows without an answer as wrong instead of failing.
        allow_unknown: ignore answers whose id is not in ``rows`` instead of failing.
        settings: storage options for ``s3://``.

    Returns:
        The metrics written to ``metrics.json``; ``run.missing`` counts rows without an answer.

    Raises:
        DataError: no rows, an unreadable or malformed predictions file (file and line named),
            a duplicate id, or unmatched ids that were not allowed.
    """
    if not rows:
        raise DataError("no data rows to evaluate")
    _require_response_rows(rows)
    source = str(predictions_uri)
    matched = match_predictions(
        rows,
        read_predictions(source, settings),
        source=source,
        allow_missing=allow_missing,
        allow_unknown=allow_unknown,
    )
    run = {
        "predictions": source,
        "mode": "predictions",
        "missing": matched.missing,
        "ignored_unknown_ids": matched.unknown,
    }
    return _score_and_write(rows, matched.critics, None, out_dir, run)


def _score_and_write(
    rows: Sequence[GuardRow],
    critics: Sequence[str | None],
    scores: Sequence[float] | None,
    out_dir: str | Path,
    run: dict,
    windows: Sequence[int] | None = None,
    extra: dict | None = None,
) -> dict:
    predictions = [None if critic is None else score_text(critic) for critic in critics]
    metrics = compute_task_metrics(rows, predictions, scores)
    metrics["run"] = run
    metrics.update(extra or {})
    records = prediction_records(rows, critics, predictions, scores)
    for record, count in zip(records, windows or (), strict=False):
        record["windows"] = count
    write_evaluation(Path(out_dir), metrics, records)
    logger.info(
        "evaluated %d rows: average accuracy %.4f, %d unscorable answers",
        metrics["n"],
        metrics["average"]["accuracy"],
        metrics["unparseable"],
    )
    return metrics


def _require_response_rows(rows: Sequence[GuardRow]) -> None:
    """Refuse, before any model work, a set whose headline (the response task) is empty."""
    if not any(row.task == RESPONSE_TASK for row in rows):
        raise DataError(
            "the rows hold no response-task rows; the headline metrics (Libra-Test, the gate) "
            "are the response task's, so evaluate a set that holds some"
        )


def _verdict_answer(score: float, threshold: float) -> str:
    """The answer a verdict score stands for, in the paper's JSON shape."""
    label = UNSAFE if score >= threshold else SAFE
    return json.dumps({ANSWER_FIELD: label}, ensure_ascii=False)


def _check_options(mode: str, batch_size: int, max_new_tokens: int, threshold: float) -> None:
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if max_new_tokens < 1:
        raise ConfigError(f"max new tokens must be at least 1, got {max_new_tokens}")
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"threshold must lie in [0, 1], got {threshold}")


def _load_judge(model: str | Path | Judge) -> Judge:
    if not isinstance(model, str | Path):
        return model
    # Imported here: torch and transformers load only when a model is actually run.
    from libra_guard.modeling.judge import GuardJudge

    return GuardJudge.load(model)


def _in_chunks(
    items: Sequence[Pair],
    chunk: int,
    run: Callable[[Sequence[Pair]], Sequence[T]],
    description: str,
) -> list[T]:
    """``run`` over consecutive chunks of ``items``, showing progress after each chunk."""
    results: list[T] = []
    with RowProgress(description, len(items)) as progress:
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            answers = list(run(part))
            if len(answers) != len(part):
                raise ModelError(
                    f"{description}: the model returned {len(answers)} results for {len(part)} rows"
                )
            results.extend(answers)
            progress.advance(len(part))
    return results
