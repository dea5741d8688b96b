"""A test split further from the training rows than a random one: whole subcategories held out.

A random split by question leaves every subcategory on both sides, so a model (or a character
n-gram baseline) can score by the topic's vocabulary alone. Holding out whole subcategories
asks whether the guard judges harm it has not seen named.
"""

from __future__ import annotations

import random
from collections import defaultdict

from libra_guard.data.schema import GuardRow


def split_by_subcategory(
    rows: list[GuardRow], fraction: float, seed: int
) -> tuple[list[GuardRow], list[GuardRow]]:
    """``(train, test)``: seeded whole subcategories go to ``test`` until it holds at least
    ``fraction`` of the rows; no subcategory is on both sides.

    Raises:
        ValueError: fewer than two subcategories (nothing could be held out and trained on).
    """
    by_subcategory: dict[str, list[GuardRow]] = defaultdict(list)
    for row in rows:
        by_subcategory[row.sub_category_name or ""].append(row)
    if len(by_subcategory) < 2:
        raise ValueError("a subcategory split needs rows of at least two subcategories")
    names = sorted(by_subcategory)
    random.Random(seed).shuffle(names)
    held: set[str] = set()
    held_rows = 0
    for name in names[:-1]:  # at least one subcategory stays in training
        if held_rows >= fraction * len(rows):
            break
        held.add(name)
        held_rows += len(by_subcategory[name])
    train = [row for row in rows if (row.sub_category_name or "") not in held]
    test = [row for row in rows if (row.sub_category_name or "") in held]
    return train, test
