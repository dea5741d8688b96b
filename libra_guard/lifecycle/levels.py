"""The decision level of a score: clearly safe, near the threshold, or clearly unsafe.

One rule for both the ``level`` label of the served metrics and the capture's higher sampling
rate, so the dashboard's "near threshold" line counts exactly the items capture favours.
"""

from __future__ import annotations

from typing import Literal

Level = Literal["clear_safe", "near_threshold", "clear_unsafe"]
LEVELS: tuple[Level, ...] = ("clear_safe", "near_threshold", "clear_unsafe")
#: Scores within this distance of the threshold (P(不安全) units) are "near" by default.
DEFAULT_MARGIN = 0.1


def decision_level(score: float, threshold: float, margin: float = DEFAULT_MARGIN) -> Level:
    """``near_threshold`` when ``|score - threshold| <= margin``, else the side it falls on."""
    if abs(score - threshold) <= margin:
        return "near_threshold"
    return "clear_unsafe" if score >= threshold else "clear_safe"
