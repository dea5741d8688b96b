"""Element combinations: the first stage of teacher synthesis.

Every combination pairs one of the taxonomy's 39 subcategories with a task type, a country
and an event drawn at random (seeded). Subcategories are taken in turn, so any run of 39 or
more combinations covers all of them and none gets more than one extra.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from libra_guard.data.taxonomy import SUBCATEGORIES


@dataclass(frozen=True)
class Combination:
    """One prompt's elements; ``combination_id`` is stable for a given seed and index."""

    combination_id: str
    scenario: str
    subcategory: str
    task_type: str
    country: str
    event: str

    def elements(self) -> dict[str, str]:
        """The prompt placeholders (everything but the id)."""
        values = asdict(self)
        values.pop("combination_id")
        return values


def combinations(count: int, seed: int, elements: dict[str, list[str]]) -> list[Combination]:
    """``count`` combinations, subcategories in turn, other elements drawn with ``seed``."""
    rng = random.Random(seed)
    made = []
    for index in range(count):
        scenario, subcategory = SUBCATEGORIES[index % len(SUBCATEGORIES)]
        made.append(
            Combination(
                combination_id=f"c{seed}-{index:06d}",
                scenario=scenario,
                subcategory=subcategory,
                task_type=rng.choice(elements["task_types"]),
                country=rng.choice(elements["countries"]),
                event=rng.choice(elements["events"]),
            )
        )
    return made
