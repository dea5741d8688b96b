"""McNemar's test: is the challenger's accuracy really different from the champion's?

Both models judge the SAME test rows, so their errors are paired. Only the discordant rows
carry information: ``b`` rows the challenger gets right and the champion wrong, ``c`` rows the
other way round. Under "no difference" each discordant row is a fair coin, so ``b`` follows
Binomial(b + c, 1/2).

- Few discordant rows (``b + c`` below ``EXACT_BELOW``, 25 by the usual rule of thumb): the
  exact two-sided binomial test, ``p = min(1, 2 * P(X <= min(b, c)))``.
- Otherwise: the chi-square approximation with Edwards' continuity correction,
  ``max(0, |b - c| - 1)^2 / (b + c)`` on one degree of freedom (the correction never
  pushes the statistic below zero, so ``b == c`` gives p = 1).

Example: b = 10, c = 2 gives 12 discordant rows, so the exact test:
``2 * (1 + 12 + 66) / 4096 = 0.03857``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from scipy.stats import binom, chi2

#: Below this many discordant pairs the chi-square approximation is poor; use the exact test.
EXACT_BELOW = 25

Method = Literal["exact", "chi2"]


@dataclass(frozen=True)
class McNemarResult:
    """The paired comparison of two models on the same rows.

    Attributes:
        b: rows the challenger gets right and the champion gets wrong.
        c: rows the champion gets right and the challenger gets wrong.
        both_correct: rows both get right.
        both_wrong: rows both get wrong.
        statistic: ``min(b, c)`` for the exact test, the corrected chi-square otherwise.
        p_value: two-sided p-value of "the two models are equally accurate".
        method: ``exact`` or ``chi2``.
    """

    b: int
    c: int
    both_correct: int
    both_wrong: int
    statistic: float
    p_value: float
    method: Method

    @property
    def n(self) -> int:
        """Paired rows compared."""
        return self.b + self.c + self.both_correct + self.both_wrong

    def to_dict(self) -> dict:
        return {**asdict(self), "n": self.n}

    @classmethod
    def from_dict(cls, values: dict) -> McNemarResult:
        fields = ("b", "c", "both_correct", "both_wrong", "statistic", "p_value", "method")
        return cls(**{name: values[name] for name in fields})


def mcnemar_test(
    challenger_correct: Sequence[bool], champion_correct: Sequence[bool]
) -> McNemarResult:
    """McNemar's test on two paired correctness vectors (``[i]`` is the same row in both).

    Raises:
        ValueError: the vectors differ in length.
    """
    if len(challenger_correct) != len(champion_correct):
        raise ValueError(
            f"paired vectors differ in length: {len(challenger_correct)} challenger rows, "
            f"{len(champion_correct)} champion rows"
        )
    pairs = list(zip(map(bool, challenger_correct), map(bool, champion_correct), strict=True))
    b = sum(mine and not theirs for mine, theirs in pairs)
    c = sum(theirs and not mine for mine, theirs in pairs)
    both_correct = sum(mine and theirs for mine, theirs in pairs)
    both_wrong = len(pairs) - b - c - both_correct
    statistic, p_value, method = mcnemar_p_value(b, c)
    return McNemarResult(b, c, both_correct, both_wrong, statistic, p_value, method)


def mcnemar_p_value(b: int, c: int) -> tuple[float, float, Method]:
    """``(statistic, two-sided p, method)`` for ``b`` and ``c`` discordant rows."""
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be non-negative, got b={b}, c={c}")
    discordant = b + c
    if discordant == 0:
        # Identical correctness on every row: no evidence of any difference.
        return 0.0, 1.0, "exact"
    if discordant < EXACT_BELOW:
        smaller = min(b, c)
        p_value = min(1.0, 2.0 * float(binom.cdf(smaller, discordant, 0.5)))
        return float(smaller), p_value, "exact"
    statistic = max(0, abs(b - c) - 1) ** 2 / discordant
    return float(statistic), float(chi2.sf(statistic, df=1)), "chi2"
