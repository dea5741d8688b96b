"""Progress reports: the answer-only loss is the reported loss; the objective rides beside it."""

from __future__ import annotations

from libra_guard.training.loop import _Progress


def test_report_keeps_every_step_loss_and_the_objective_apart(capsys):
    progress = _Progress("stage2", total=10, start=0, global_batch=8, rank=0, every=2)
    progress.step_done(0.5, 2.5)
    progress.step_done(0.25, 2.0)
    metrics = progress.report(2, lr=1e-3, resumed_from=0)
    assert metrics["loss"] == 0.25
    assert metrics["objective"] == 2.0
    assert metrics["step_losses"] == [0.5, 0.25]
    assert "loss 0.2500 (with prompt 2.0000)" in capsys.readouterr().out
    # A new window starts empty.
    progress.step_done(0.125, 0.125)
    assert progress.report(3, lr=1e-3, resumed_from=0)["step_losses"] == [0.125]


def test_without_a_prompt_weight_the_line_shows_one_loss(capsys):
    progress = _Progress("stage1", total=4, start=0, global_batch=4, rank=0, every=1)
    progress.step_done(0.75, 0.75)
    progress.report(1, lr=1e-3, resumed_from=0)
    line = capsys.readouterr().out
    assert "loss 0.7500 samples/s" in line
    assert "with prompt" not in line


def test_only_rank_zero_prints(capsys):
    progress = _Progress("stage1", total=4, start=0, global_batch=4, rank=1, every=1)
    progress.step_done(0.75, 0.75)
    assert progress.report(1, lr=1e-3, resumed_from=0)["loss"] == 0.75
    assert capsys.readouterr().out == ""
