"""Two evaluation figures: accuracy per harm scenario and the confusion matrix.

Figures are drawn on a bare ``matplotlib.figure.Figure`` (the Agg canvas), never through
``pyplot``: no global backend switch, no display needed, safe inside Ray workers and servers.
Category names are Chinese and most machines have no CJK font, so a bar is labelled with the
scenario's English name where it is a known scenario, with the Chinese name where an installed
font covers it, and otherwise ``category K`` (the K-th entry of ``by_category`` in
``metrics.json``) rather than a row of empty boxes.
"""

from __future__ import annotations

import functools
from pathlib import Path

from matplotlib import font_manager
from matplotlib.figure import Figure

from libra_guard.atomic import write_file_atomic
from libra_guard.data.taxonomy import SCENARIO_ENGLISH

#: Families known to cover simplified Chinese, tried in this order.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)
BASE_FAMILY = "DejaVu Sans"


@functools.cache
def cjk_font_family() -> str | None:
    """The first installed CJK-capable font family, or ``None`` where there is none."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def _font_families() -> list[str]:
    cjk = cjk_font_family()
    return [BASE_FAMILY, cjk] if cjk else [BASE_FAMILY]


def category_label(name: str, position: int) -> str:
    """A readable axis label for a category: English, Chinese if a font covers it, or K."""
    if name in SCENARIO_ENGLISH:
        return SCENARIO_ENGLISH[name]
    if name.isascii() or cjk_font_family() is not None:
        return name
    return f"category {position}"


def plot_category_accuracy(by_category: dict[str, dict], path: Path) -> Path:
    """Horizontal bars of accuracy (%) per category, with each category's row count."""
    names = list(by_category)
    labels = [category_label(name, position) for position, name in enumerate(names, start=1)]
    accuracies = [100.0 * by_category[name]["accuracy"] for name in names]
    counts = [by_category[name]["n"] for name in names]

    figure = Figure(figsize=(8.0, 1.2 + 0.45 * max(len(names), 1)), layout="constrained")
    axes = figure.add_subplot()
    positions = range(len(names))
    axes.barh(positions, accuracies, color="#4C72B0")
    axes.set_yticks(list(positions), labels, fontfamily=_font_families())
    axes.invert_yaxis()
    axes.set_xlim(0, 108)
    axes.set_xlabel("accuracy (%)")
    if any(label == f"category {k}" for k, label in enumerate(labels, start=1)):
        axes.set_xlabel("accuracy (%)\ncategory K: the K-th entry of by_category in metrics.json")
    axes.set_title("Accuracy per harm scenario")
    for position, (accuracy, count) in enumerate(zip(accuracies, counts, strict=True)):
        axes.text(accuracy + 1, position, f"{accuracy:.1f}  (n={count})", va="center", fontsize=8)
    return _save(figure, path)


def plot_confusion_matrix(confusion: dict, path: Path) -> Path:
    """The 2x2 confusion matrix (rows = truth, columns = prediction) with counts and row %."""
    matrix = confusion["matrix"]
    names = ["safe" if label == "安全" else "unsafe" for label in confusion["labels"]]

    figure = Figure(figsize=(4.8, 4.2), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_xticks(range(len(names)), names)
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true label")
    axes.set_title("Confusion matrix")
    peak = max((max(row) for row in matrix), default=0)
    for row_index, row in enumerate(matrix):
        total = sum(row)
        for column_index, count in enumerate(row):
            share = f"\n{100.0 * count / total:.1f}%" if total else ""
            axes.text(
                column_index,
                row_index,
                f"{count}{share}",
                ha="center",
                va="center",
                color="white" if peak and count > peak / 2 else "black",
            )
    return _save(figure, path)


def _save(figure: Figure, path: Path) -> Path:
    return write_file_atomic(path, lambda stream: figure.savefig(stream, format="png", dpi=120))
