"""The gate decision as plain JSON and back.

A pipeline step decides and a later step (in another process) registers the model and tags
it with the decision, so the decision crosses process boundaries as a JSON file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from libra_guard.errors import DataError
from libra_guard.promotion.gate import ChampionComparison, GateCheck, GateDecision, GateThresholds
from libra_guard.promotion.mcnemar import McNemarResult


def decision_to_dict(decision: GateDecision) -> dict:
    comparison = decision.comparison
    return {
        "passed": decision.passed,
        "summary": decision.summary,
        "reasons": list(decision.reasons),
        "checks": [asdict(check) for check in decision.checks],
        "unchecked_categories": dict(decision.unchecked_categories),
        "comparison": {
            "outcome": comparison.outcome,
            "paired_rows": comparison.paired_rows,
            "challenger_accuracy": comparison.challenger_accuracy,
            "champion_accuracy": comparison.champion_accuracy,
            "mcnemar": comparison.mcnemar.to_dict() if comparison.mcnemar else None,
            "only_challenger_ids": list(comparison.only_challenger_ids),
            "only_champion_ids": list(comparison.only_champion_ids),
        },
        "thresholds": decision.thresholds.model_dump(),
        "champion_label": decision.champion_label,
    }


def decision_from_dict(values: Mapping) -> GateDecision:
    """Read what ``decision_to_dict`` wrote.

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
        return GateDecision(
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
