"""Three levels (safe / controversial / unsafe) from two thresholds on P(不安全).

A binary threshold forces a verdict on items the guard is unsure of. Two thresholds, each
calibrated on the evaluation split so that its side reaches a configured precision, leave a
grey band between them:

- ``score < safe_below``: ``safe``; of the evaluation rows scored here, at least
  ``precision`` were labelled 安全 (when reachable);
- ``score >= unsafe_from``: ``unsafe``; at least ``precision`` were labelled 不安全;
- otherwise ``controversial``. A request-level policy maps it to a binary verdict:
  ``strict`` treats it as unsafe (fail closed), ``loose`` as safe.

Each side takes the threshold that puts the MOST rows on its side while its precision holds,
so the grey band is as narrow as the precision target allows. A side that cannot reach the
target on any threshold claims nothing (``safe_below = 0``, ``unsafe_from = 1``, reached
false): its rows fall into the band rather than into a level the data does not support.

Usage::

    levels = calibrate_levels(labels, scores, precision=0.9)
    levels.level(0.42)              # "controversial"
    levels.verdict(0.42, "strict")  # "unsafe"
    band_report(levels, labels, scores)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from libra_guard.data.schema import SAFE, UNSAFE

Level = Literal["safe", "controversial", "unsafe"]
Policy = Literal["strict", "loose"]
POLICIES: tuple[str, ...] = ("strict", "loose")


class LevelThresholds(BaseModel):
    """The two calibrated thresholds and what they were calibrated for."""

    model_config = ConfigDict(extra="forbid")

    safe_below: float = Field(ge=0, le=1, description="Scores below this are safe.")
    unsafe_from: float = Field(ge=0, le=1, description="Scores at or above this are unsafe.")
    precision: float = Field(gt=0, le=1, description="Precision each side was calibrated to.")
    safe_reached: bool = Field(default=True, description="The safe side reached the precision.")
    unsafe_reached: bool = Field(default=True, description="The unsafe side reached the precision.")
    n: int = Field(default=0, ge=0, description="Evaluation rows calibrated on.")

    @model_validator(mode="after")
    def _ordered(self) -> LevelThresholds:
        if self.safe_below > self.unsafe_from:
            raise ValueError(
                f"safe_below ({self.safe_below}) is above unsafe_from ({self.unsafe_from})"
            )
        return self

    def level(self, score: float) -> Level:
        if score >= self.unsafe_from:
            return "unsafe"
        if score < self.safe_below:
            return "safe"
        return "controversial"

    def verdict(self, score: float, policy: Policy) -> Literal["safe", "unsafe"]:
        """The binary verdict: the level, with the grey band mapped by ``policy``."""
        level = self.level(score)
        if level == "controversial":
            return "unsafe" if policy == "strict" else "safe"
        return level


def calibrate_levels(
    labels: Sequence[str], scores: Sequence[float], precision: float = 0.9
) -> LevelThresholds:
    """The widest safe and unsafe sides whose precision on ``labels`` reaches ``precision``.

    Raises:
        ValueError: no rows, lengths that differ, or a precision outside (0, 1].
    """
    if not labels or len(labels) != len(scores):
        raise ValueError(
            f"need equal, non-zero numbers of labels and scores, got "
            f"{len(labels)} and {len(scores)}"
        )
    if not 0 < precision <= 1:
        raise ValueError(f"precision must lie in (0, 1], got {precision}")
    # Distinct scores ascending, with how many rows of each label sit at each score.
    counts: dict[float, list[int]] = {}
    for score, label in zip(scores, labels, strict=True):
        counts.setdefault(float(score), [0, 0])[label == UNSAFE] += 1
    ordered = sorted(counts)
    total_safe = sum(safe for safe, _ in counts.values())
    total_unsafe = len(labels) - total_safe

    # Unsafe side: rows with score >= t, lowest t first (the widest side that holds).
    unsafe_from, unsafe_reached = 1.0, False
    below_safe = below_unsafe = 0  # rows under the current t
    for threshold in ordered:
        flagged_unsafe = total_unsafe - below_unsafe
        flagged = flagged_unsafe + total_safe - below_safe
        if flagged and flagged_unsafe / flagged >= precision:
            unsafe_from, unsafe_reached = threshold, True
            break
        below_safe += counts[threshold][0]
        below_unsafe += counts[threshold][1]

    # Safe side: rows with score <= t, highest t first; the cut sits just above t.
    safe_below, safe_reached = 0.0, False
    upto_safe, upto_unsafe = total_safe, total_unsafe
    for threshold in reversed(ordered):
        cleared = upto_safe + upto_unsafe
        if cleared and upto_safe / cleared >= precision:
            safe_below, safe_reached = math.nextafter(threshold, math.inf), True
            break
        upto_safe -= counts[threshold][0]
        upto_unsafe -= counts[threshold][1]
    if safe_below > unsafe_from:
        # The two sides overlap (a well-separated split): no grey band, one cut.
        safe_below = unsafe_from
    return LevelThresholds(
        safe_below=min(safe_below, 1.0),
        unsafe_from=unsafe_from,
        precision=precision,
        safe_reached=safe_reached,
        unsafe_reached=unsafe_reached,
        n=len(labels),
    )


def band_report(levels: LevelThresholds, labels: Sequence[str], scores: Sequence[float]) -> dict:
    """Per level: its share of the rows and the precision of its label; JSON-ready.

    ``controversial.unsafe_fraction`` is the share of 不安全 rows inside the band (what a
    policy decides about); ``safe.precision`` and ``unsafe.precision`` are the calibrated
    sides' precision on these rows (``None`` for an empty side).
    """
    groups: dict[str, list[str]] = {"safe": [], "controversial": [], "unsafe": []}
    for label, score in zip(labels, scores, strict=True):
        groups[levels.level(float(score))].append(label)
    total = len(labels)
    report: dict = {"thresholds": levels.model_dump()}
    for level, members in groups.items():
        share = len(members) / total if total else 0.0
        entry: dict = {"share": share, "n": len(members)}
        if level == "controversial":
            entry["unsafe_fraction"] = members.count(UNSAFE) / len(members) if members else None
        else:
            wanted = SAFE if level == "safe" else UNSAFE
            entry["precision"] = members.count(wanted) / len(members) if members else None
        report[level] = entry
    return report
