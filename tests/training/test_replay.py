"""Stage-1 rehearsal in stage 2: the mix is seeded, bounded and keeps every stage-2 row."""

from __future__ import annotations

from libra_guard.training.config import TrainConfig
from libra_guard.training.curriculum import stage2_inputs, with_replay


def test_replay_adds_the_requested_share_of_stage1_rows(synth_rows) -> None:
    stage1, stage2 = synth_rows[:40], synth_rows[40:60]
    mixed = with_replay(stage2, stage1, 0.5, seed=1)
    assert len(mixed) == 30
    assert {row.id for row in stage2} <= {row.id for row in mixed}
    assert len({row.id for row in mixed}) == 30
    assert [row.id for row in with_replay(stage2, stage1, 0.5, seed=1)] == [r.id for r in mixed]


def test_replay_is_capped_and_off_by_default(synth_rows) -> None:
    stage1, stage2 = synth_rows[:5], synth_rows[5:25]
    assert len(with_replay(stage2, stage1, 4.0, seed=0)) == 25
    assert with_replay(stage2, stage1, 0.0, seed=0) == list(stage2)


def test_stage2_inputs_never_train_on_a_validation_row(synth_rows) -> None:
    """What ``libra-guard train`` and the pipeline's ``finetune_guard`` feed stage 2."""
    stage1, stage2 = synth_rows[:40], synth_rows[40:]
    config = TrainConfig(stage2_validation=0.25, stage2_replay=0.5)
    said: list[str] = []
    rows, validation = stage2_inputs(stage2, stage1, config, said.append)
    held = {row.id for rows_ in validation.values() for row in rows_}
    assert set(validation) == {"stage2", "stage1"} and held
    assert held.isdisjoint(row.id for row in rows)
    assert any("held out" in line for line in said) and any("replay" in line for line in said)
    off = TrainConfig(stage2_validation=0.0, stage2_replay=0.0)
    plain, none = stage2_inputs(stage2, stage1, off, said.append)
    assert none == {} and plain == list(stage2)
