"""McNemar's test against values computed by hand."""

from __future__ import annotations

from math import comb

import pytest
from scipy.stats import chi2

from libra_guard.promotion.mcnemar import EXACT_BELOW, mcnemar_p_value, mcnemar_test


def vectors(b: int, c: int, both_correct: int = 0, both_wrong: int = 0):
    """Correctness vectors with the given contingency table."""
    challenger = [True] * b + [False] * c + [True] * both_correct + [False] * both_wrong
    champion = [False] * b + [True] * c + [True] * both_correct + [False] * both_wrong
    return challenger, champion


def test_exact_two_sided_p_for_b10_c2():
    # 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * (1 + 12 + 66) / 4096
    result = mcnemar_test(*vectors(10, 2, both_correct=30, both_wrong=5))
    assert (result.b, result.c, result.both_correct, result.both_wrong) == (10, 2, 30, 5)
    assert result.n == 47
    assert result.method == "exact"
    assert result.p_value == pytest.approx(79 / 2048)
    assert result.p_value == pytest.approx(0.038574, abs=1e-6)
    assert result.statistic == 2


def test_exact_is_symmetric_in_b_and_c():
    assert mcnemar_p_value(2, 10)[1] == pytest.approx(mcnemar_p_value(10, 2)[1])


def test_exact_p_never_exceeds_one():
    # b == c: 2 * P(X <= 3), X ~ Bin(6, 1/2) = 2 * 42/64 > 1, so capped at 1.
    assert mcnemar_p_value(3, 3)[1] == 1.0


def test_chi_square_with_continuity_correction_for_many_discordant_rows():
    b, c = 30, 12
    statistic, p_value, method = mcnemar_p_value(b, c)
    assert method == "chi2"
    assert statistic == pytest.approx((30 - 12 - 1) ** 2 / 42)  # 289 / 42 = 6.881
    assert p_value == pytest.approx(float(chi2.sf(289 / 42, 1)))
    assert p_value == pytest.approx(0.008711, abs=1e-5)


def test_switches_to_chi_square_at_the_rule_of_thumb():
    assert mcnemar_p_value(EXACT_BELOW - 1, 0)[2] == "exact"
    assert mcnemar_p_value(EXACT_BELOW, 0)[2] == "chi2"
    # 24 discordant, all one way: 2 / 2**24 exactly.
    assert mcnemar_p_value(24, 0)[1] == pytest.approx(2 * comb(24, 0) / 2**24)


def test_identical_vectors_have_no_discordant_rows_and_p_one():
    same = [True, False, True, True]
    result = mcnemar_test(same, same)
    assert (result.b, result.c) == (0, 0)
    assert result.p_value == 1.0


def test_equal_discordant_counts_give_p_one_in_chi_square_too():
    assert mcnemar_p_value(20, 20)[1] == pytest.approx(1.0)


def test_vectors_of_different_length_are_rejected():
    with pytest.raises(ValueError, match="differ in length"):
        mcnemar_test([True, False], [True])
