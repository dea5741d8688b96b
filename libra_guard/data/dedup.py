"""Exact-duplicate detection on normalised text.

Two rows that show the guard the same question and the same response teach it nothing new,
and one copy in train and another in test inflates test scores. "Same" ignores differences a
reader would not notice: Unicode compatibility forms (full-width ``Ａ`` versus ``A``, NFKC),
leading and trailing whitespace, runs of whitespace, and letter case.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

from libra_guard.data.schema import GuardRow


def normalise_text(text: str) -> str:
    """NFKC, whitespace runs collapsed to one space, stripped, lower-cased.

    Chinese has no letter case, so lower-casing only folds Latin (and other cased) letters.
    """
    return " ".join(unicodedata.normalize("NFKC", text).split()).lower()


def content_key(row: GuardRow) -> tuple[str, str]:
    """What makes two rows the same sample: the normalised question and response."""
    return normalise_text(row.question), normalise_text(row.response)


class Duplicate(NamedTuple):
    """A row dropped as a copy of an earlier row, and that earlier row's id."""

    row: GuardRow
    first_id: str


def dedup_rows(rows: Iterable[GuardRow]) -> tuple[list[GuardRow], list[Duplicate]]:
    """Keep the first row of each (question, response) content; report the others.

    The label plays no part: the same pair with two labels is a contradiction, and the first
    row wins; the caller sees the dropped row and can report the conflict.
    """
    first_seen: dict[tuple[str, str], str] = {}
    kept: list[GuardRow] = []
    duplicates: list[Duplicate] = []
    for row in rows:
        key = content_key(row)
        if key in first_seen:
            duplicates.append(Duplicate(row=row, first_id=first_seen[key]))
            continue
        first_seen[key] = row.id
        kept.append(row)
    return kept, duplicates
