"""Has served traffic drifted from what the champion was tested on? PSI plus a two-sample test.

Four views of the traffic are compared with the champion's evaluation data:

- ``score``: P(不安全) per item; PSI over ten equal-width bins of [0, 1] and the two-sample
  Kolmogorov-Smirnov test;
- ``unsafe_rate``: the share judged unsafe; PSI over the two outcomes and a chi-square test of
  the 2x2 table;
- ``input_chars``: characters of question plus response; PSI over the reference's deciles and
  the KS test (needs texts on both sides, e.g. the evaluation data beside its predictions);
- ``scenario``: the category mix; PSI over categories and a chi-square test (only where the
  current items carry ``category_name``, as reviewed feedback does; served traffic does not).

A view DRIFTS when its PSI exceeds ``psi_max`` (0.2 is the usual "significant shift" line)
AND its test rejects "same distribution" at ``p_value_max``: PSI says the shift is large, the
test says it is not sampling noise, and requiring both keeps a small window from crying wolf.
A window with fewer than ``min_items`` items is INCONCLUSIVE, which is its own outcome, neither
a pass nor a drift. The tests come from scipy (a dependency of the training stack).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

#: PSI terms use at least this share per bin, so an empty bin adds a large finite term.
_EPSILON = 1e-4
Outcome = Literal["ok", "drift", "inconclusive"]


class DriftLimits(BaseModel):
    """Where a view counts as drifted (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    psi_max: float = Field(default=0.2, gt=0, description="PSI above this is a large shift.")
    p_value_max: float = Field(default=0.01, gt=0, lt=1, description="Test significance.")
    min_items: int = Field(default=50, ge=1, description="Fewer current items: inconclusive.")


@dataclass(frozen=True)
class Traffic:
    """One side of the comparison; ``chars`` and ``scenarios`` are None where unknown."""

    scores: Sequence[float]
    threshold: float
    chars: Sequence[int] | None = None
    scenarios: Sequence[str] | None = None

    def __len__(self) -> int:
        return len(self.scores)


@dataclass(frozen=True)
class ViewResult:
    view: str
    psi: float | None
    test: str
    p_value: float | None
    reference: dict
    current: dict
    drifted: bool
    note: str = ""


@dataclass
class DriftResult:
    outcome: Outcome
    reference_items: int
    current_items: int
    views: list[ViewResult] = field(default_factory=list)
    reason: str = ""

    @property
    def drifted_views(self) -> list[str]:
        return [view.view for view in self.views if view.drifted]


def psi(reference: Sequence[float], current: Sequence[float]) -> float:
    """Population stability index of two distributions given as bin shares (each sums to 1)."""
    total = 0.0
    for expected, actual in zip(reference, current, strict=True):
        expected, actual = max(expected, _EPSILON), max(actual, _EPSILON)
        total += (actual - expected) * math.log(actual / expected)
    return total


def _shares(counts: Sequence[float]) -> list[float]:
    size = float(sum(counts)) or 1.0
    return [count / size for count in counts]


def _binned_view(
    name: str, reference: Sequence[float], current: Sequence[float], edges, limits: DriftLimits
) -> ViewResult:
    ref_counts, _ = np.histogram(reference, bins=edges)
    cur_counts, _ = np.histogram(current, bins=edges)
    index = psi(_shares(ref_counts), _shares(cur_counts))
    p_value = float(stats.ks_2samp(reference, current).pvalue)
    return ViewResult(
        view=name,
        psi=index,
        test="Kolmogorov-Smirnov",
        p_value=p_value,
        reference={"mean": float(np.mean(reference)), "median": float(np.median(reference))},
        current={"mean": float(np.mean(current)), "median": float(np.median(current))},
        drifted=bool(index > limits.psi_max and p_value < limits.p_value_max),
    )


def _categorical_view(
    name: str, reference: Sequence[str], current: Sequence[str], limits: DriftLimits
) -> ViewResult:
    categories = sorted(set(reference) | set(current))
    ref_counter, cur_counter = Counter(reference), Counter(current)
    ref_counts = [ref_counter[c] for c in categories]
    cur_counts = [cur_counter[c] for c in categories]
    index = psi(_shares(ref_counts), _shares(cur_counts))
    if len(categories) < 2:
        p_value = 1.0
    else:
        table = np.array([ref_counts, cur_counts]) + 0.5  # no empty cell (Haldane's correction)
        p_value = float(stats.chi2_contingency(table).pvalue)
    return ViewResult(
        view=name,
        psi=index,
        test="chi-square",
        p_value=p_value,
        reference=dict(zip(categories, _shares(ref_counts), strict=True)),
        current=dict(zip(categories, _shares(cur_counts), strict=True)),
        drifted=bool(index > limits.psi_max and p_value < limits.p_value_max),
    )


def _unknown(name: str, why: str) -> ViewResult:
    return ViewResult(name, None, "-", None, {}, {}, drifted=False, note=why)


def compare(reference: Traffic, current: Traffic, limits: DriftLimits | None = None) -> DriftResult:
    """Compare ``current`` traffic with the ``reference`` (evaluation) data, view by view."""
    limits = limits or DriftLimits()
    result = DriftResult("ok", len(reference), len(current))
    if len(current) < limits.min_items or len(reference) < limits.min_items:
        result.outcome = "inconclusive"
        result.reason = (
            f"{len(current)} current and {len(reference)} reference items; at least "
            f"{limits.min_items} of each are needed (DriftLimits.min_items)"
        )
        return result
    result.views.append(
        _binned_view("score", reference.scores, current.scores, np.linspace(0, 1, 11), limits)
    )
    verdicts = [
        ["unsafe" if score >= side.threshold else "safe" for score in side.scores]
        for side in (reference, current)
    ]
    result.views.append(_categorical_view("unsafe_rate", verdicts[0], verdicts[1], limits))
    if reference.chars and current.chars:
        edges = np.unique(np.quantile(reference.chars, np.linspace(0, 1, 11)))
        edges[0], edges[-1] = -np.inf, np.inf
        result.views.append(
            _binned_view("input_chars", reference.chars, current.chars, edges, limits)
        )
    else:
        result.views.append(_unknown("input_chars", "texts are missing on one side"))
    if reference.scenarios and current.scenarios:
        result.views.append(
            _categorical_view("scenario", reference.scenarios, current.scenarios, limits)
        )
    else:
        result.views.append(_unknown("scenario", "the current items carry no category_name"))
    if result.drifted_views:
        result.outcome = "drift"
        result.reason = "drift in " + ", ".join(result.drifted_views)
    return result
