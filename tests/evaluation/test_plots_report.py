"""Figures that never crash on Chinese names, and the paper-style table."""

from __future__ import annotations

import warnings
from io import StringIO

from rich.console import Console

from libra_guard.evaluation import plots
from libra_guard.evaluation.plots import category_label, plot_category_accuracy
from libra_guard.evaluation.progress import RowProgress
from libra_guard.evaluation.report import metrics_table, percent

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_known_scenarios_are_labelled_in_english() -> None:
    assert category_label("违法犯罪", 1) == "Illegal Activities and Crime"
    assert category_label("harassment", 2) == "harassment"


def test_unknown_chinese_name_without_a_cjk_font_becomes_a_position(monkeypatch) -> None:
    monkeypatch.setattr(plots, "cjk_font_family", lambda: None)
    assert category_label("侵害权益", 3) == "category 3"


def test_unknown_chinese_name_is_kept_when_a_cjk_font_exists(monkeypatch) -> None:
    monkeypatch.setattr(plots, "cjk_font_family", lambda: "Noto Sans CJK SC")
    assert category_label("侵害权益", 3) == "侵害权益"


def test_category_plot_with_chinese_names_renders_without_missing_glyphs(tmp_path) -> None:
    by_category = {
        "违法犯罪": {"accuracy": 0.9, "n": 742},
        "侵害权益": {"accuracy": 0.5, "n": 232},
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Glyph .* missing")
        path = plot_category_accuracy(by_category, tmp_path / "nested" / "cat.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("│")[1:-1]]


def test_percent_has_the_papers_two_decimals() -> None:
    assert percent((0.8597 + 0.8337 + 0.9104) / 3) == "86.79"
    assert percent(1.0) == "100.00"


def test_table_lists_each_source_then_the_average() -> None:
    metrics = {
        "by_source": {
            "Real Data": {
                "accuracy": 0.8597,
                "f1_safe": 0.75,
                "f1_unsafe": 0.9,
                "n": 10,
                "unparseable": 1,
            },
            "Synthetic Data": {
                "accuracy": 0.8337,
                "f1_safe": 0.5,
                "f1_unsafe": 0.8,
                "n": 20,
                "unparseable": 0,
            },
        },
        "average": {"accuracy": 0.8467, "f1_safe": 0.625, "f1_unsafe": 0.85},
        "n": 30,
        "unparseable": 1,
    }
    console = Console(record=True, width=120)
    console.print(metrics_table(metrics))
    lines = console.export_text().splitlines()
    real = next(line for line in lines if "Real Data" in line)
    average = next(line for line in lines if "Average" in line)
    assert cells(real) == ["Real Data", "85.97", "75.00", "90.00", "10", "1"]
    assert cells(average) == ["Average", "84.67", "62.50", "85.00", "30", "1"]
    assert lines.index(real) < lines.index(average)


def test_progress_without_a_terminal_prints_rate_lines() -> None:
    stream = StringIO()
    console = Console(file=stream, force_terminal=False, width=200)
    with RowProgress("generating", total=4, console=console) as progress:
        progress.advance(2)  # within the interval: no line yet
        progress.advance(2)  # done: always a final line
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("generating: 4/4 rows (")
    assert "rows/s, about 0 s left)" in lines[0]
