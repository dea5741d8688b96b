"""The gate's records: thresholds, checks, the champion comparison and the decision.

They live apart from the gate's logic (``gate.py``) so that the decision's readers and
writers (JSON here, Markdown in ``report.py``) depend on them and not on the gate: the
dependency points one way (``gate`` -> ``decision`` <- ``report``). A pipeline step decides
and a later step, in another process, registers the model and tags it with the decision, so
the decision crosses process boundaries as JSON (``to_dict``/``from_dict``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from libra_guard.errors import DataError
from libra_guard.promotion.mcnemar import McNemarResult

Outcome = Literal[
    "no_champion",
    "challenger_better",
    "no_significant_difference",
    "champion_better",
    "different_rows",
]


class TaskThresholds(BaseModel):
    """What a challenger must reach on one task's own rows (``metrics["by_task"][task]``);
    an unset figure is not checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_accuracy: float | None = Field(
        default=None, ge=0, le=1, description="The task's average accuracy over sources."
    )
    min_f1_unsafe: float | None = Field(
        default=None, ge=0, le=1, description="The task's average F1 of the unsafe class."
    )


class GateThresholds(BaseModel):
    """What a challenger must reach; fractions in [0, 1]. The top-level figures are the
    response task's (the Libra-Test headline); ``tasks`` adds thresholds on a task's own rows
    (e.g. ``tasks: {prompt: {min_accuracy: 0.7}}``); a task absent there is not gated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_average_accuracy: float = Field(
        default=0.6, ge=0, le=1, description="Headline accuracy (plain mean over sources)."
    )
    min_f1_unsafe: float = Field(
        default=0.6, ge=0, le=1, description="Headline F1 of the unsafe class."
    )
    min_category_accuracy: float = Field(
        default=0.5, ge=0, le=1, description="Accuracy floor in each harm scenario."
    )
    min_category_rows: int = Field(
        default=20, ge=1, description="Scenarios with fewer test rows are not checked."
    )
    alpha: float = Field(
        default=0.05, gt=0, lt=1, description="Significance level of McNemar's test."
    )
    tasks: dict[Literal["response", "prompt"], TaskThresholds] = Field(
        default_factory=dict,
        description="Per-task thresholds on metrics.by_task; a task absent is not gated, a set "
        "threshold whose figure is missing fails.",
    )


@dataclass(frozen=True)
class GateCheck:
    """One threshold check: ``value >= threshold``; ``value`` is ``None`` when the metrics
    lack the figure (a failed check, ``missing`` says why)."""

    name: str
    value: float | None
    threshold: float
    passed: bool
    rows: int | None = None
    missing: str | None = None


@dataclass(frozen=True)
class ChampionComparison:
    """The paired comparison with the champion (``outcome`` says what it concluded)."""

    outcome: Outcome
    paired_rows: int = 0
    challenger_accuracy: float | None = None
    champion_accuracy: float | None = None
    mcnemar: McNemarResult | None = None
    only_challenger_ids: tuple[str, ...] = ()
    only_champion_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict, every check behind it and the reasons in words."""

    passed: bool
    checks: tuple[GateCheck, ...]
    comparison: ChampionComparison
    reasons: tuple[str, ...]
    thresholds: GateThresholds
    unchecked_categories: dict[str, int] = field(default_factory=dict)
    champion_label: str = "champion"

    @property
    def summary(self) -> str:
        """One line: the decision and its first reason."""
        word = "pass" if self.passed else "fail"
        return f"{word}: {self.reasons[0]}" if self.reasons else word

    def failed_checks(self) -> list[GateCheck]:
        return [check for check in self.checks if not check.passed]

    def to_dict(self) -> dict:
        """A JSON-serialisable form; ``from_dict`` reads it back."""
        comparison = self.comparison
        return {
            "passed": self.passed,
            "summary": self.summary,
            "reasons": list(self.reasons),
            "checks": [asdict(check) for check in self.checks],
            "unchecked_categories": dict(self.unchecked_categories),
            "comparison": {
                "outcome": comparison.outcome,
                "paired_rows": comparison.paired_rows,
                "challenger_accuracy": comparison.challenger_accuracy,
                "champion_accuracy": comparison.champion_accuracy,
                "mcnemar": comparison.mcnemar.to_dict() if comparison.mcnemar else None,
                "only_challenger_ids": list(comparison.only_challenger_ids),
                "only_champion_ids": list(comparison.only_champion_ids),
            },
            "thresholds": self.thresholds.model_dump(),
            "champion_label": self.champion_label,
        }

    @classmethod
    def from_dict(cls, values: Mapping) -> GateDecision:
        """Read what ``to_dict`` wrote (the decision crosses process boundaries as JSON).

        Raises:
            DataError: a field is missing or malformed.
        """
        try:
            raw = values["comparison"]
            comparison = ChampionComparison(
                outcome=raw["outcome"],
                paired_rows=int(raw["paired_rows"]),
                challenger_accuracy=raw["challenger_accuracy"],
                champion_accuracy=raw["champion_accuracy"],
                mcnemar=McNemarResult.from_dict(raw["mcnemar"]) if raw["mcnemar"] else None,
                only_challenger_ids=tuple(raw["only_challenger_ids"]),
                only_champion_ids=tuple(raw["only_champion_ids"]),
            )
            return cls(
                passed=bool(values["passed"]),
                checks=tuple(GateCheck(**check) for check in values["checks"]),
                comparison=comparison,
                reasons=tuple(values["reasons"]),
                thresholds=GateThresholds(**values["thresholds"]),
                unchecked_categories=dict(values.get("unchecked_categories", {})),
                champion_label=values.get("champion_label", "champion"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"not a gate decision written by the gate: {exc}") from exc

    def to_markdown(self) -> str:
        """A readable report: decision, checks against thresholds, McNemar table, reasons."""
        # report.py only reads decisions (its import of this module is for type checking),
        # so this lazy import keeps the dependency one way.
        from libra_guard.promotion.report import decision_markdown

        return decision_markdown(self)
