"""The batch schedule: every row once per epoch, disjoint across workers, reproducible."""

from __future__ import annotations

from types import SimpleNamespace

from libra_guard.modeling.features import TrainingExample
from libra_guard.training.loop import _batch_for_step, _warmup_cosine


def _examples(count: int) -> list[TrainingExample]:
    return [
        TrainingExample([index] * (1 + index % 7), [0] * (1 + index % 7), False)
        for index in range(count)
    ]


def _ids(batch) -> list[int]:
    return [example.input_ids[0] for example in batch]


def test_one_worker_sees_every_row_once_per_epoch():
    examples = _examples(40)
    config = SimpleNamespace(seed=1, batch_size=4)
    seen = [
        i for step in range(10) for i in _ids(_batch_for_step(examples, step, 10, config, 0, 1))
    ]
    assert sorted(seen) == list(range(40))
    again = [
        i for step in range(10) for i in _ids(_batch_for_step(examples, step, 10, config, 0, 1))
    ]
    assert again == seen
    next_epoch = [
        i for step in range(10, 20) for i in _ids(_batch_for_step(examples, step, 10, config, 0, 1))
    ]
    assert next_epoch != seen and sorted(next_epoch) == list(range(40))


def test_two_workers_split_each_global_batch():
    examples = _examples(30)  # not a multiple of the global batch (8): wraps around
    config = SimpleNamespace(seed=0, batch_size=4)
    steps = 4
    for step in range(steps):
        first = _ids(_batch_for_step(examples, step, steps, config, 0, 2))
        second = _ids(_batch_for_step(examples, step, steps, config, 1, 2))
        assert len(first) == len(second) == 4
    covered = {
        i
        for step in range(steps)
        for rank in (0, 1)
        for i in _ids(_batch_for_step(examples, step, steps, config, rank, 2))
    }
    assert covered == set(range(30))


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    factor = _warmup_cosine(warmup_steps=4, total_steps=20)
    assert factor(0) < factor(3) < factor(4) == 1.0
    assert factor(12) < 1.0
    assert abs(factor(20) - 0.1) < 1e-9
