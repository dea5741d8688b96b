"""Train/test split by question, so that no question is seen on both sides.

JADE-style data pairs one question with several answers (one unsafe, one safe). Splitting rows
at random would put a question's unsafe answer in train and its safe answer in test, and the
test score would measure memory of the question. Grouping by the normalised question (the same
normalisation as deduplication) keeps every row of a question on one side.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from libra_guard.data.dedup import normalise_text
from libra_guard.data.schema import GuardRow
from libra_guard.errors import ConfigError


def split_by_question(
    rows: Sequence[GuardRow], test_fraction: float, seed: int
) -> tuple[list[GuardRow], list[GuardRow]]:
    """Split rows into (train, test); ``test_fraction`` is a fraction of distinct questions.

    Deterministic: the same rows (in any order), fraction and seed give the same split, since
    the questions are sorted before the seeded shuffle. Each side keeps the input order. With
    at least two questions and 0 < fraction < 1, each side gets at least one question.

    Raises:
        ConfigError: ``test_fraction`` is outside [0, 1].
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise ConfigError(f"test fraction must be between 0 and 1, got {test_fraction}")
    questions = sorted({normalise_text(row.question) for row in rows})
    random.Random(seed).shuffle(questions)
    n_test = round(test_fraction * len(questions))
    if len(questions) >= 2 and 0.0 < test_fraction < 1.0:
        n_test = min(max(n_test, 1), len(questions) - 1)
    test_questions = set(questions[:n_test])
    train: list[GuardRow] = []
    test: list[GuardRow] = []
    for row in rows:
        (test if normalise_text(row.question) in test_questions else train).append(row)
    return train, test
