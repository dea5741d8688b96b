"""What the Hugging Face engine adds to the Trainer's step: the per-step curve, progress lines
and validation lines, as the native loop prints and records them.

``StepCurveCallback`` keeps the stage's ``TrainingCurve`` (one point per optimizer step: the
answer-only loss and the objective averaged over the workers, the learning rate the step used,
samples/s and tokens/s), prints a progress line every ``report_every`` steps, and writes the
curve into every checkpoint the Trainer saves, before Ray Train's ``RayTrainReportCallback``
(registered after it) copies that checkpoint to the run's storage; a resumed run continues it.
"""

from __future__ import annotations

import time
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_utils import get_last_checkpoint

from libra_guard.training.curve import CurvePoint, TrainingCurve


class StepCurveCallback(TrainerCallback):
    """Per-step curve and progress of one stage (``GuardTrainer.step_record`` feeds it)."""

    def __init__(self, stage: str, global_batch: int, report_every: int, rank: int) -> None:
        self.stage, self.global_batch = stage, global_batch
        self.report_every, self.rank = report_every, rank
        self.curve = TrainingCurve()
        self.trainer = None  # set by the engine once the Trainer exists
        self.start_step = 0
        self.began = self.step_began = self.window_began = time.perf_counter()
        self.window_steps = 0
        self.last_loss = self.last_objective = float("nan")

    def on_train_begin(self, args, state, control, **kwargs):
        self.start_step = state.global_step
        self.began = self.window_began = time.perf_counter()
        if self.start_step and self.rank == 0:
            print(
                f"[{self.stage}] resuming from checkpoint at step {self.start_step}/"
                f"{state.max_steps}",
                flush=True,
            )

    def on_step_begin(self, args, state, control, **kwargs):
        self.step_began = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        seconds = max(time.perf_counter() - self.step_began, 1e-9)
        answer, objective, lr, tokens = self.trainer.step_record
        self.last_loss, self.last_objective = answer, objective
        self.curve.record(
            CurvePoint(
                state.global_step,
                answer,
                objective,
                lr,
                self.global_batch / seconds,
                tokens / seconds,
            )
        )
        self.window_steps += 1
        step = state.global_step
        if step % self.report_every == 0 or step == state.max_steps:
            self._progress_line(step, state.max_steps)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.rank != 0 or not metrics:
            return
        sets = " ".join(
            f"{key.removeprefix('eval_val_accuracy_')} {value:.4f}"
            for key, value in metrics.items()
            if key.startswith("eval_val_accuracy_")
        )
        print(
            f"[{self.stage}] step {state.global_step}/{state.max_steps} validation accuracy "
            f"{metrics.get('eval_val_accuracy', float('nan')):.4f} ({sets})",
            flush=True,
        )

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        folder = get_last_checkpoint(args.output_dir)
        if folder is not None:
            self.curve.save(Path(folder))

    def mean_samples_per_s(self, step: int) -> float:
        """Samples/s since this run (or resumption) began, validation included."""
        elapsed = max(time.perf_counter() - self.began, 1e-9)
        return (step - self.start_step) * self.global_batch / elapsed

    def _progress_line(self, step: int, total: int) -> None:
        now = time.perf_counter()
        rate = self.window_steps * self.global_batch / max(now - self.window_began, 1e-9)
        self.window_steps, self.window_began = 0, now
        if self.rank != 0:
            return
        mean = max(self.mean_samples_per_s(step), 1e-9)
        minutes, seconds = divmod(int((total - step) * self.global_batch / mean), 60)
        with_prompt = (
            f" (with prompt {self.last_objective:.4f})"
            if self.last_objective != self.last_loss
            else ""
        )
        print(
            f"[{self.stage}] step {step}/{total} loss {self.last_loss:.4f}{with_prompt} "
            f"samples/s {rate:.1f} ETA {minutes}m{seconds:02d}s",
            flush=True,
        )
