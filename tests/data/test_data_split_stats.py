"""Splitting by question and dataset statistics."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libra_guard.data.dedup import normalise_text
from libra_guard.data.schema import GuardRow
from libra_guard.data.split import split_by_question
from libra_guard.data.stats import dataset_stats
from libra_guard.errors import ConfigError
from tests.data.rows import make_row


def _paired_rows(questions: int) -> list[GuardRow]:
    """Two answers per question, the second question spelled with different case/spaces."""
    rows = []
    for q in range(questions):
        rows.append(GuardRow(**make_row(2 * q, question=f"Question {q}", response="yes")))
        rows.append(GuardRow(**make_row(2 * q + 1, question=f" question  {q} ", response="no")))
    return rows


def _questions(rows: list[GuardRow]) -> set[str]:
    return {normalise_text(row.question) for row in rows}


def test_split_never_straddles_and_fraction_counts_questions() -> None:
    rows = _paired_rows(10)

    train, test = split_by_question(rows, 0.3, seed=1)

    assert len(_questions(test)) == 3
    assert (len(train), len(test)) == (14, 6)
    assert _questions(train).isdisjoint(_questions(test))
    assert sorted(row.id for row in train + test) == sorted(row.id for row in rows)


def test_split_is_deterministic_and_ignores_input_order() -> None:
    rows = _paired_rows(20)
    shuffled = list(rows)
    random.Random(5).shuffle(shuffled)

    train, test = split_by_question(rows, 0.25, seed=7)
    train_again, test_again = split_by_question(shuffled, 0.25, seed=7)
    _, test_other_seed = split_by_question(rows, 0.25, seed=8)

    assert train == split_by_question(rows, 0.25, seed=7)[0]
    assert {row.id for row in test} == {row.id for row in test_again}
    assert {row.id for row in train} == {row.id for row in train_again}
    assert {row.id for row in test} != {row.id for row in test_other_seed}


def test_split_keeps_each_side_in_input_order() -> None:
    rows = _paired_rows(6)
    positions = {row.id: i for i, row in enumerate(rows)}

    train, test = split_by_question(rows, 0.5, seed=0)

    for side in (train, test):
        assert [positions[row.id] for row in side] == sorted(positions[row.id] for row in side)


def test_split_edges() -> None:
    rows = _paired_rows(4)

    assert split_by_question(rows, 0.0, seed=0) == (rows, [])
    assert split_by_question(rows, 1.0, seed=0) == ([], rows)
    _, tiny_test = split_by_question(rows, 0.01, seed=0)
    assert len(_questions(tiny_test)) == 1, "a positive fraction yields at least one question"
    with pytest.raises(ConfigError, match="between 0 and 1"):
        split_by_question(rows, 1.5, seed=0)


@settings(max_examples=40, deadline=None)
@given(
    questions=st.lists(st.sampled_from(["a", "A ", "b", "c", " C", "d", "e"]), max_size=30),
    fraction=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
)
def test_split_property_no_question_on_both_sides(
    questions: list[str], fraction: float, seed: int
) -> None:
    rows = [GuardRow(**make_row(i, question=q)) for i, q in enumerate(questions)]

    train, test = split_by_question(rows, fraction, seed)

    assert _questions(train).isdisjoint(_questions(test))
    assert len(train) + len(test) == len(rows)


def test_stats_counts_and_lengths() -> None:
    rows = [
        GuardRow(**make_row(1, question="一二三", response="一二")),
        GuardRow(**make_row(2, question="一二三", response="一二三四")),
        GuardRow(**make_row(3, question="一", response="一二三四五六", source="Synthetic Data")),
        GuardRow(
            **make_row(
                4,
                question="一二",
                response="一",
                category_name="隐私财产",
                sub_category_name="个人隐私",
            )
        ),
    ]

    stats = dataset_stats(rows)

    assert stats["rows"] == 4
    assert stats["labels"] == {"安全": 2, "不安全": 2}
    assert stats["sources"] == {"Real Data": 3, "Synthetic Data": 1}
    assert stats["scenarios"] == {"违法犯罪": 3, "隐私财产": 1}
    assert stats["subcategories"] == 2
    assert stats["distinct_questions"] == 3
    assert stats["question_chars"] == {"min": 1, "mean": 2.2, "median": 2.5, "max": 3}
    assert stats["response_chars"] == {"min": 1, "mean": 3.2, "median": 3.0, "max": 6}


def test_stats_of_no_rows() -> None:
    stats = dataset_stats([])

    assert stats["labels"] == {"安全": 0, "不安全": 0}
    assert stats["question_chars"]["mean"] is None
