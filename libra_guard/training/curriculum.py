"""The curriculum's data rules for stage 2: validation holdout and stage-1 replay.

Stage 2 may hold some of its questions out as a validation set (to keep the best weights,
``selection``) and may mix stage-1 rows back in (replay, so it does not forget stage 1). Both
``libra-guard train`` and the pipeline's ``finetune_guard`` step build stage 2's inputs with
``stage2_inputs``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from libra_guard.data.schema import GuardRow
from libra_guard.data.split import split_by_question
from libra_guard.training.config import TrainConfig


def with_replay(
    rows: Sequence[GuardRow], earlier: Sequence[GuardRow], fraction: float, seed: int
) -> list[GuardRow]:
    """``rows`` plus a seeded sample of ``earlier`` rows, ``fraction`` times as many as ``rows``
    (capped at all of ``earlier``), shuffled together so every batch mixes both."""
    count = min(len(earlier), round(fraction * len(rows)))
    if count == 0:
        return list(rows)
    rng = random.Random(seed)
    mixed = [*rows, *rng.sample(list(earlier), count)]
    rng.shuffle(mixed)
    return mixed


@dataclass(frozen=True)
class Holdout:
    """Stage 2's training rows, the stage-1 rows replay may draw from, and validation sets."""

    rows: list[GuardRow]
    replay_pool: list[GuardRow]
    validation: dict[str, list[GuardRow]]


def validation_holdout(
    rows: Sequence[GuardRow], earlier: Sequence[GuardRow], config: TrainConfig
) -> Holdout:
    """Hold ``config.stage2_validation`` of the stage-2 questions out of training (split by
    question, so no question is on both sides) as the ``stage2`` validation set.

    With replay on, as many stage-1 rows as that set holds (at most half of them) leave the
    replay pool and form the ``stage1`` set: they were seen in stage 1, so they measure
    forgetting rather than generalisation, which is what rehearsal is there to prevent.
    Off (the default): every row trains and no validation set exists.
    """
    if config.stage2_validation <= 0 or not rows:
        return Holdout(list(rows), list(earlier), {})
    train, held = split_by_question(rows, config.stage2_validation, config.seed + 1)
    if not held or not train:
        return Holdout(list(rows), list(earlier), {})
    validation = {"stage2": held}
    pool = list(earlier)
    if config.stage2_replay > 0 and pool:
        picked = set(
            random.Random(config.seed + 2).sample(range(len(pool)), min(len(held), len(pool) // 2))
        )
        validation["stage1"] = [row for i, row in enumerate(pool) if i in picked]
        pool = [row for i, row in enumerate(pool) if i not in picked]
    return Holdout(train, pool, validation)


def stage2_inputs(
    stage2_rows: Sequence[GuardRow], stage1_rows: Sequence[GuardRow], config: TrainConfig, log=print
) -> tuple[list[GuardRow], dict[str, list[GuardRow]]]:
    """Stage 2's training rows (validation questions held out, stage-1 replay mixed in) and
    its validation sets, as ``libra-guard train`` and the pipeline's ``finetune_guard`` use
    them; says what it held out and mixed in."""
    holdout = validation_holdout(stage2_rows, stage1_rows, config)
    if holdout.validation:
        sizes = ", ".join(f"{len(rows)} {name}" for name, rows in holdout.validation.items())
        log(f"stage2: validation rows held out of training to pick the best weights: {sizes}")
    mix = with_replay(holdout.rows, holdout.replay_pool, config.stage2_replay, config.seed)
    if len(mix) > len(holdout.rows):
        log(f"stage2: {len(mix) - len(holdout.rows)} stage-1 rows mixed in (replay)")
    return mix, holdout.validation
