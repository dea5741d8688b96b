"""Best-weights selection in stage 2: held-out rows by question, scored, best weights kept."""

from __future__ import annotations

import pytest
import torch

from libra_guard.data.dedup import normalise_text
from libra_guard.data.schema import UNSAFE
from libra_guard.modeling.factory import build_tiny_base, load_causal_lm, load_tokenizer
from libra_guard.modeling.judge import GuardJudge
from libra_guard.training.config import TrainConfig
from libra_guard.training.curriculum import validation_holdout
from libra_guard.training.runner import guard_corpus
from libra_guard.training.selection import BestWeights, ValidationResult, Validator
from tests.tiny import micro_dims


def _questions(rows) -> set[str]:
    return {normalise_text(row.question) for row in rows}


def test_holdout_is_off_when_validation_is_zero(synth_rows) -> None:
    stage1, stage2 = synth_rows[:40], synth_rows[40:]
    config = TrainConfig(stage2_replay=0.5, stage2_validation=0.0)
    holdout = validation_holdout(stage2, stage1, config)
    assert holdout.rows == list(stage2)
    assert holdout.replay_pool == list(stage1)
    assert holdout.validation == {}


def test_holdout_splits_stage2_by_question_and_keeps_replay_rows_apart(synth_rows) -> None:
    stage1, stage2 = synth_rows[:40], synth_rows[40:]
    config = TrainConfig(stage2_validation=0.25, stage2_replay=0.5)
    holdout = validation_holdout(stage2, stage1, config)
    held = holdout.validation["stage2"]
    assert held and holdout.rows
    assert len(held) + len(holdout.rows) == len(stage2)
    assert not _questions(held) & _questions(holdout.rows)
    replay_held = {row.id for row in holdout.validation["stage1"]}
    assert len(replay_held) == min(len(held), len(stage1) // 2)
    assert replay_held.isdisjoint(row.id for row in holdout.replay_pool)
    assert len(replay_held) + len(holdout.replay_pool) == len(stage1)
    again = validation_holdout(stage2, stage1, config)
    assert [row.id for row in again.rows] == [row.id for row in holdout.rows]


def test_without_replay_no_stage1_rows_are_held_out(synth_rows) -> None:
    holdout = validation_holdout(
        synth_rows[40:], synth_rows[:40], TrainConfig(stage2_validation=0.25, stage2_replay=0.0)
    )
    assert set(holdout.validation) == {"stage2"}
    assert holdout.replay_pool == list(synth_rows[:40])


def test_best_weights_keep_the_best_result_and_restore_it(tmp_path) -> None:
    model = torch.nn.Linear(2, 1)
    best = BestWeights()
    with torch.no_grad():
        model.weight.fill_(1.0)
    assert best.offer(ValidationResult(0.8, 0.5, {"a": 0.8}), step=10, model=model)
    with torch.no_grad():
        model.weight.fill_(2.0)
    assert not best.offer(ValidationResult(0.7, 0.1, {"a": 0.7}), step=20, model=model)
    assert not best.offer(ValidationResult(0.8, 0.6, {"a": 0.8}), step=30, model=model)
    assert best.metrics() == {"best_step": 10, "best_val_accuracy": 0.8}

    best.save(tmp_path)
    restored = BestWeights.load(tmp_path)
    restored.restore_into(model)
    assert torch.equal(model.weight, torch.ones_like(model.weight))
    assert restored.metrics() == best.metrics()
    assert restored.offer(ValidationResult(0.8, 0.4, {"a": 0.8}), step=40, model=model)
    assert restored.step == 40


def test_nothing_kept_means_nothing_saved_or_restored(tmp_path) -> None:
    model = torch.nn.Linear(2, 1)
    before = model.weight.clone()
    best = BestWeights()
    best.save(tmp_path)
    assert not any(tmp_path.iterdir())
    BestWeights.load(tmp_path).restore_into(model)
    assert torch.equal(model.weight, before)
    assert best.metrics() == {}


@pytest.fixture(scope="module")
def micro_model(tmp_path_factory, synth_rows):
    folder = build_tiny_base(
        guard_corpus(synth_rows), micro_dims(vocab_size=800), tmp_path_factory.mktemp("m") / "b"
    )
    return load_causal_lm(folder), load_tokenizer(folder)


def test_validator_scores_each_set_like_the_verdict_evaluation(micro_model, synth_rows) -> None:
    model, tokenizer = micro_model
    sets = {"real": synth_rows[:6], "replay": synth_rows[6:10]}
    result = Validator(sets, tokenizer).score(model)
    judge = GuardJudge(model, tokenizer, name="check")
    expected = {}
    for name, rows in sets.items():
        scores = judge.verdict_scores([(row.question, row.response) for row in rows])
        hits = [
            (score >= 0.5) == (row.label == UNSAFE) for score, row in zip(scores, rows, strict=True)
        ]
        expected[name] = sum(hits) / len(rows)
    assert result.accuracy_by_set == pytest.approx(expected)
    assert result.accuracy == pytest.approx((expected["real"] + expected["replay"]) / 2)
    assert result.log_loss > 0
    assert Validator.of_sets({}, tokenizer) is None
    assert Validator.of_sets({"real": []}, tokenizer) is None
