"""The real JADE v3 medium set (../shared/data) passes validation whole."""

from __future__ import annotations

from pathlib import Path

from libra_guard.data.dedup import normalise_text
from libra_guard.data.io import read_rows
from libra_guard.data.split import split_by_question
from libra_guard.data.stats import dataset_stats
from libra_guard.data.validate import validate_file


def test_jade_medium_validates_whole(jade_medium_path: Path, tmp_path: Path) -> None:
    report = validate_file(jade_medium_path, tmp_path / "jade.jsonl")

    assert (report.kept, report.quarantined) == (1000, 0)
    rows = read_rows(tmp_path / "jade.jsonl")
    assert rows == read_rows(jade_medium_path), "validation must not alter good rows"
    stats = dataset_stats(rows)
    assert stats["labels"] == {"安全": 500, "不安全": 500}
    assert stats["distinct_questions"] == 500


def test_jade_medium_splits_by_question(jade_medium_path: Path) -> None:
    train, test = split_by_question(read_rows(jade_medium_path), 0.2, seed=0)

    assert (len(train), len(test)) == (800, 200)
    train_questions = {normalise_text(row.question) for row in train}
    assert train_questions.isdisjoint({normalise_text(row.question) for row in test})
