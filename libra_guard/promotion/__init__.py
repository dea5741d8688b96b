"""Promotion: the gate that decides whether a challenger may become the champion."""

from libra_guard.promotion.gate import (
    ChampionComparison,
    GateCheck,
    GateDecision,
    GateThresholds,
    decide,
)
from libra_guard.promotion.mcnemar import McNemarResult, mcnemar_test

__all__ = [
    "ChampionComparison",
    "GateCheck",
    "GateDecision",
    "GateThresholds",
    "McNemarResult",
    "decide",
    "mcnemar_test",
]
