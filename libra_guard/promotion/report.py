"""The gate decision as a Markdown report, for the pipeline's UI and the MLflow run.

A reader should see at a glance what was decided and why: the decision, each threshold check
with value against threshold, the McNemar contingency table with b, c and the p-value, and
the reasons in words. Figures are percentages as the Libra paper prints them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only read here; importing it at run time would close a cycle
    from libra_guard.promotion.decision import GateDecision

OUTCOME_WORDS = {
    "no_champion": "no champion yet (thresholds alone decide)",
    "challenger_better": "challenger significantly better",
    "no_significant_difference": "no significant difference",
    "champion_better": "champion significantly better",
    "different_rows": "evaluated on different rows (cannot pair)",
}


def decision_markdown(decision: GateDecision) -> str:
    lines = [
        f"# Promotion gate: {'PASS' if decision.passed else 'FAIL'}",
        "",
        f"**Decision:** {_decision_words(decision)}",
        "",
        "## Reasons",
        "",
        *[f"- {reason}" for reason in decision.reasons],
        "",
        *_checks_section(decision),
        *_comparison_section(decision),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _decision_words(decision: GateDecision) -> str:
    if decision.passed:
        return "promote the challenger (register it as a new version of the model)."
    count = len(decision.reasons)
    return f"do not promote the challenger ({count} reason{'s' if count != 1 else ''} below)."


def _checks_section(decision: GateDecision) -> list[str]:
    lines = [
        "## Threshold checks",
        "",
        "| check | value | threshold | rows | result |",
        "|---|---:|---:|---:|---|",
    ]
    for check in decision.checks:
        rows = "" if check.rows is None else str(check.rows)
        result = "pass" if check.passed else "**FAIL**"
        value = "missing" if check.value is None else f"{check.value:.2%}"
        lines.append(f"| {check.name} | {value} | ≥ {check.threshold:.2%} | {rows} | {result} |")
    if decision.unchecked_categories:
        floor = decision.thresholds.min_category_rows
        skipped = ", ".join(
            f"{name} ({rows} rows)" for name, rows in decision.unchecked_categories.items()
        )
        lines += ["", f"Not checked (fewer than {floor} test rows): {skipped}."]
    return [*lines, ""]


def _comparison_section(decision: GateDecision) -> list[str]:
    comparison = decision.comparison
    champion = decision.champion_label
    lines = [
        f"## Comparison with {champion}",
        "",
        f"Outcome: **{OUTCOME_WORDS[comparison.outcome]}**.",
    ]
    result = comparison.mcnemar
    if result is None:
        return lines
    method = "exact binomial" if result.method == "exact" else "chi-square, continuity-corrected"
    lines += [
        "",
        f"McNemar's test on {comparison.paired_rows} rows paired by id "
        f"(challenger {comparison.challenger_accuracy:.2%}, {champion} "
        f"{comparison.champion_accuracy:.2%}):",
        "",
        f"| | {champion} right | {champion} wrong |",
        "|---|---:|---:|",
        f"| challenger right | {result.both_correct} | b = {result.b} |",
        f"| challenger wrong | c = {result.c} | {result.both_wrong} |",
        "",
        f"b = {result.b}, c = {result.c}, statistic = {result.statistic:.4g}, "
        f"p = {result.p_value:.4g} ({method}), alpha = {decision.thresholds.alpha:g}.",
    ]
    return lines
