"""The gate's Markdown report says what was decided and why."""

from __future__ import annotations

from libra_guard.promotion import GateThresholds, decide
from tests.promotion.evaluations import BIAS, CRIME, PRIVACY, metrics, paired, predictions

THRESHOLDS = GateThresholds(min_average_accuracy=0.8, min_f1_unsafe=0.75, alpha=0.05)


def test_failing_report_shows_checks_table_mcnemar_and_reasons():
    challenger, champion = paired(b=2, c=10, both_correct=80, both_wrong=8)
    scenarios = {CRIME: (0.9, 60), BIAS: (0.4, 40), PRIVACY: (0.2, 3)}
    challenger_metrics = metrics(categories=scenarios)
    decision = decide(
        challenger_metrics, challenger, THRESHOLDS, metrics(), champion, champion_label="v1"
    )
    report = decision.to_markdown()
    assert report.startswith("# Promotion gate: FAIL\n")
    assert "**Decision:** do not promote the challenger (2 reasons below)." in report
    assert "| average accuracy | 90.00% | ≥ 80.00% | 100 | pass |" in report
    assert f"| accuracy in {BIAS} | 40.00% | ≥ 50.00% | 40 | **FAIL** |" in report
    assert f"Not checked (fewer than 20 test rows): {PRIVACY} (3 rows)." in report
    assert "| challenger right | 80 | b = 2 |" in report
    assert "| challenger wrong | c = 10 | 8 |" in report
    assert "p = 0.03857 (exact binomial), alpha = 0.05" in report
    assert "Outcome: **champion significantly better**." in report
    assert f"- accuracy in {BIAS} 40.00% is below the threshold 50.00%" in report
    assert "- v1 is significantly better" in report


def test_passing_report_without_champion_has_no_contingency_table():
    report = decide(metrics(), predictions([True] * 100), THRESHOLDS).to_markdown()
    assert report.startswith("# Promotion gate: PASS\n")
    assert "**Decision:** promote the challenger" in report
    assert "- all 4 threshold checks pass" in report
    assert "Outcome: **no champion yet (thresholds alone decide)**." in report
    assert "b = " not in report
