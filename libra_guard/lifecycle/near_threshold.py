"""Which decisions count as "near the threshold": the doubtful ones capture samples more of.

This is capture's sampling band, not a level. The level of a decision is the API's
(``safe``/``controversial``/``unsafe`` from the model version's calibrated thresholds,
``libra_guard.levels``); the served metrics and capture records use that word for that only.
A decision is near the threshold when the guard was unsure of it: its level is
``controversial`` (inside the calibrated grey band), or its score lies within ``margin`` of
the serving threshold (the only cut of an uncalibrated model, which has no grey band).
"""

from __future__ import annotations

#: Scores within this distance of the threshold (P(不安全) units) are near by default.
DEFAULT_MARGIN = 0.1


def is_near_threshold(
    score: float, threshold: float, level: str, margin: float = DEFAULT_MARGIN
) -> bool:
    """True for a controversial decision or one whose score is within ``margin`` of
    ``threshold``."""
    return level == "controversial" or abs(score - threshold) <= margin
