"""Step ``gate``: may the freshly evaluated challenger replace the champion?

The decision itself is ``promotion.gate.decide``; this step gathers its inputs: the
challenger's evaluation, and the current champion (alias ``champion``, if any) downloaded and
evaluated here on the SAME test rows, so both are judged by this code on this data.
``write_decision`` / ``read_decision`` keep the decision JSON in one shape for the steps after.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from libra_guard.atomic import write_file_atomic
from libra_guard.data.io import read_rows
from libra_guard.evaluation.outputs import read_metrics, read_predictions
from libra_guard.evaluation.runner import Mode, evaluate_model
from libra_guard.promotion.gate import GateDecision, GateThresholds, decide
from libra_guard.tracking import registry


@dataclass(frozen=True)
class GateOutcome:
    """The decision, which champion it was measured against, and the challenger's averages."""

    decision: GateDecision
    champion_version: str | None = None
    challenger_average: dict = field(default_factory=dict)
    #: The challenger's three-level thresholds (evaluate_guard calibrates them); register
    #: stores them with the version.
    levels: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.decision.passed

    @property
    def summary(self) -> str:
        return self.decision.summary

    def to_dict(self) -> dict:
        return self.decision.to_dict() | {
            "summary": self.summary,
            "champion_version": self.champion_version,
            "challenger_average": self.challenger_average,
            "levels": self.levels,
        }


@dataclass(frozen=True)
class _Evaluated:
    metrics: dict
    predictions: list[dict]


def gate(
    test_data: str | Path,
    evaluation: str | Path,
    thresholds: GateThresholds,
    *,
    mode: Mode,
    batch_size: int,
    tracking_uri: str | None = None,
    log: Callable[[str], None] = print,
) -> GateOutcome:
    """Decide on the challenger evaluated in the folder ``evaluation``.

    Raises:
        ModelError: the champion cannot be downloaded or loaded.
    """
    challenger = _Evaluated(read_metrics(Path(evaluation)), read_predictions(Path(evaluation)))
    champion_version = registry.alias_version(registry.CHAMPION, tracking_uri=tracking_uri)
    champion, label = None, "champion"
    if champion_version is not None:
        label = f"{registry.MODEL_NAME} v{champion_version}"
        log(f"evaluating the champion ({label}) on the same {challenger.metrics['n']} rows")
        champion = _evaluate_version(champion_version, test_data, mode, batch_size, tracking_uri)
    decision = decide(
        challenger.metrics,
        challenger.predictions,
        thresholds,
        champion.metrics if champion else None,
        champion.predictions if champion else None,
        champion_label=label,
    )
    levels = (challenger.metrics.get("levels") or {}).get("thresholds") or {}
    return GateOutcome(decision, champion_version, challenger.metrics["average"], dict(levels))


def _evaluate_version(
    version: str, test_data: str | Path, mode: Mode, batch_size: int, tracking_uri: str | None
) -> _Evaluated:
    """A registered version (pinned, the alias may move meanwhile) evaluated on the rows."""
    folder = registry.download_model(
        f"models:/{registry.MODEL_NAME}/{version}", tracking_uri=tracking_uri
    )
    with tempfile.TemporaryDirectory(prefix="champion-eval-") as work:
        evaluate_model(folder, read_rows(test_data), Path(work), mode=mode, batch_size=batch_size)
        return _Evaluated(read_metrics(Path(work)), read_predictions(Path(work)))


def write_decision(outcome: GateOutcome, decision: str | Path, report: str | Path) -> None:
    """The decision JSON (``read_decision`` reads it) and the Markdown report."""
    write_file_atomic(report, outcome.decision.to_markdown())
    write_file_atomic(decision, json.dumps(outcome.to_dict(), ensure_ascii=False, indent=2))


def read_decision(path: str | Path) -> GateOutcome:
    """The ``GateOutcome`` that ``write_decision`` wrote to ``path``."""
    values = json.loads(Path(path).read_text(encoding="utf-8"))
    return GateOutcome(
        GateDecision.from_dict(values),
        values.get("champion_version"),
        dict(values.get("challenger_average") or {}),
        dict(values.get("levels") or {}),
    )
