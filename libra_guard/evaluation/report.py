"""The metrics as the paper prints them: one row per source and an Average row, in percent.

Columns follow the paper's tables (Accuracy, F1-Safe, F1-Unsafe, two decimals), followed by
the row count and how many answers could not be scored (counted wrong). The table is the
response task's (the top level of the metrics); :func:`tasks_table` shows each task apart.
"""

from __future__ import annotations

from rich.table import Table

from libra_guard.evaluation.metrics import HEADLINE_FIGURES

COLUMN_TITLES = {"accuracy": "Accuracy", "f1_safe": "F1-Safe", "f1_unsafe": "F1-Unsafe"}


def percent(fraction: float) -> str:
    """A fraction in [0, 1] as the paper's percentage with two decimals: 0.8679 -> 86.79."""
    return f"{100.0 * fraction:.2f}"


def metrics_table(metrics: dict, title: str = "Libra-Test protocol") -> Table:
    """A rich table of the per-source figures and their plain average."""
    table = Table(title=title)
    table.add_column("Source")
    for figure in HEADLINE_FIGURES:
        table.add_column(COLUMN_TITLES[figure], justify="right")
    table.add_column("n", justify="right")
    table.add_column("Unscorable", justify="right")
    for source, figures in metrics["by_source"].items():
        table.add_row(
            source,
            *(percent(figures[figure]) for figure in HEADLINE_FIGURES),
            str(figures["n"]),
            str(figures["unparseable"]),
        )
    table.add_section()
    table.add_row(
        "Average",
        *(percent(metrics["average"][figure]) for figure in HEADLINE_FIGURES),
        str(metrics["n"]),
        str(metrics["unparseable"]),
        style="bold",
    )
    return table


def levels_table(levels: dict, title: str = "Three levels (calibrated on this split)") -> Table:
    """Each level's share of the rows and precision, from ``levels.band_report``."""
    thresholds = levels["thresholds"]
    table = Table(
        title=f"{title}: safe < {thresholds['safe_below']:.4f} <= controversial < "
        f"{thresholds['unsafe_from']:.4f} <= unsafe, target precision "
        f"{percent(thresholds['precision'])}"
    )
    for column in ("Level", "Share", "n", "Precision", "不安全 in band"):
        table.add_column(column, justify="left" if column == "Level" else "right")
    for level in ("safe", "controversial", "unsafe"):
        entry = levels[level]
        precision = entry.get("precision")
        band = entry.get("unsafe_fraction")
        table.add_row(
            level,
            percent(entry["share"]),
            str(entry["n"]),
            "" if precision is None else percent(precision),
            "" if band is None else percent(band),
        )
    return table


def tasks_table(metrics: dict, title: str = "Each task on its own rows") -> Table | None:
    """One row per task (``metrics["by_task"]``): its average over sources, ROC-AUC, rows and
    unscorable answers; ``None`` when the rows hold one task only (the main table says it)."""
    by_task = metrics.get("by_task") or {}
    if len(by_task) < 2:
        return None
    table = Table(title=title)
    table.add_column("Task")
    for figure in HEADLINE_FIGURES:
        table.add_column(COLUMN_TITLES[figure], justify="right")
    for column in ("ROC-AUC", "n", "Unscorable"):
        table.add_column(column, justify="right")
    for task, figures in by_task.items():
        auc = figures.get("roc_auc")
        table.add_row(
            task,
            *(percent(figures["average"][figure]) for figure in HEADLINE_FIGURES),
            "" if auc is None else f"{auc:.4f}",
            str(figures["n"]),
            str(figures["unparseable"]),
        )
    return table
