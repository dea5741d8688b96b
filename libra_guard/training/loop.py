"""The per-worker training loop of one stage, run by Ray Train on every worker.

Reads top to bottom: load the starting model and tokenizer, wrap LoRA if asked, tokenise the
rows, restore the last checkpoint if the run is resumed, then step through the schedule.
Every ``report_every`` steps all workers call ``ray.train.report`` (a barrier) with every
step's loss and the samples/s of the window; every ``checkpoint_every`` steps and at the end,
rank 0 attaches a checkpoint. Only rank 0 writes and prints.

With validation sets in the config (``runner.validation_holdout``), rank 0 scores them
``evals_per_epoch`` times per epoch with the verdict read-out the evaluation uses, keeps a
copy of the weights with the best mean accuracy over the sets (ties: lower log-loss), stores
that copy in every checkpoint, and the stage's model is those weights rather than the last.

The schedule is a pure function of (seed, step), so a resumed run continues with exactly the
batches the killed one would have seen.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import ray.train
import ray.train.torch
import torch
import transformers

from libra_guard.modeling.base_models import materialize_base
from libra_guard.modeling.factory import load_causal_lm, load_tokenizer
from libra_guard.modeling.features import (
    TrainingExample,
    collate,
    encode_row,
    truncation_note,
)
from libra_guard.modeling.lora import apply_lora
from libra_guard.training.batch_order import step_indices
from libra_guard.training.checkpoint import (
    MODEL_DIR,
    load_training_state,
    save_model_folder,
    save_training_state,
)
from libra_guard.training.curve import CurvePoint, TrainingCurve
from libra_guard.training.loop_config import StageLoopConfig
from libra_guard.training.loss import guard_loss
from libra_guard.training.precision import autocast, enable_gradient_checkpointing, weight_dtype
from libra_guard.training.selection import BestWeights, Validator


def train_stage_per_worker(loop_dict: dict[str, Any]) -> None:
    """Train one stage; ``loop_dict`` is a ``StageLoopConfig`` (``loop_config``) as a dict."""
    config = StageLoopConfig.model_validate(loop_dict)
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    # Threads: as configured, else this node's CPUs shared among its workers.
    threads = config.threads or max(1, (os.cpu_count() or 1) // context.get_local_world_size())
    torch.set_num_threads(threads)
    torch.manual_seed(config.seed + rank)
    device = ray.train.torch.get_device()
    transformers.utils.logging.disable_progress_bar()
    quiet_ray_report_log()
    warnings.filterwarnings("ignore", category=FutureWarning)
    # An s3:// base is fetched once per node (a file lock), verified against its manifest.
    source = materialize_base(config.model_source, Path(config.model_cache))
    tokenizer = load_tokenizer(source)
    model = load_causal_lm(source, dtype=weight_dtype(config.method, device))
    if config.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    if config.method == "lora":
        model = apply_lora(model, config.lora)
    model.train()
    rows = config.rows
    examples = [encode_row(tokenizer, row, config.max_length) for row in rows]
    note = truncation_note(examples, config.max_length)
    if note and rank == 0:
        print(f"[{config.stage}] {note}", flush=True)

    global_batch = config.batch_size * world
    steps_per_epoch = math.ceil(len(examples) / global_batch)
    total_steps = max(1, math.ceil(config.epochs * steps_per_epoch))
    trainable = [param for param in model.parameters() if param.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable,
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        betas=(0.9, 0.95),
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _warmup_cosine(config.warmup_steps, total_steps)
    )

    # Every rank knows when validation is due (it reports then, and reports are barriers);
    # only rank 0 scores, since every rank holds the same weights.
    validator = Validator.of_sets(config.validation, tokenizer) if rank == 0 else None
    best = BestWeights()
    eval_steps = (
        _eval_steps(steps_per_epoch, config.evals_per_epoch) if config.validation else set()
    )

    start_step = 0
    curve = TrainingCurve()
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            start_step = load_training_state(Path(folder), model, optimizer, scheduler)
            best = BestWeights.load(Path(folder))
            curve = TrainingCurve.load(Path(folder))
        if rank == 0:
            print(
                f"[{config.stage}] resuming from checkpoint at step {start_step}/{total_steps}",
                flush=True,
            )

    ddp_model = ray.train.torch.prepare_model(model)
    progress = _Progress(
        config.stage, total_steps, start_step, global_batch, rank, config.report_every
    )
    for step in range(start_step, total_steps):
        step_began = time.perf_counter()
        batch = _batch_for_step(examples, step, steps_per_epoch, config, rank, world)
        tensors = {
            key: value.to(device) for key, value in collate(batch, _pad_id(tokenizer)).items()
        }
        with autocast(device):
            loss = guard_loss(ddp_model, tensors, config.prompt_loss_weight)
        loss.objective.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        step_lr = scheduler.get_last_lr()[0]
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        answer_loss = _mean_over_workers(loss.answer, world)
        objective = _mean_over_workers(loss.objective.detach(), world)
        progress.step_done(answer_loss, objective)
        seconds = max(time.perf_counter() - step_began, 1e-9)
        tokens = sum(len(example.input_ids) for example in batch) * world
        curve.record(
            CurvePoint(
                done, answer_loss, objective, step_lr, global_batch / seconds, tokens / seconds
            )
        )
        validation_due = (step % steps_per_epoch) + 1 in eval_steps
        if validation_due and validator is not None:
            result = validator.score(model)
            best.offer(result, done, model)
            model.train()
            progress.validated(done, result, best)
        checkpoint_due = done == total_steps or done % config.checkpoint_every == 0
        if checkpoint_due or validation_due or progress.report_due(done):
            metrics = {
                **progress.report(done, scheduler.get_last_lr()[0], start_step),
                **best.metrics(),
            }
            if checkpoint_due:
                _report_with_checkpoint(
                    metrics,
                    model,
                    tokenizer,
                    optimizer,
                    scheduler,
                    done,
                    done == total_steps,
                    rank,
                    best,
                    curve,
                )
            else:
                ray.train.report(metrics)
    if start_step >= total_steps:
        # Restored from the final checkpoint (killed before the driver copied the model out):
        # report it again so that the run's result carries the model.
        metrics = {
            **progress.report(total_steps, scheduler.get_last_lr()[0], start_step),
            **best.metrics(),
        }
        _report_with_checkpoint(
            metrics, model, tokenizer, optimizer, scheduler, total_steps, True, rank, best, curve
        )


def quiet_ray_report_log() -> None:
    """Ray Train logs every report (metrics included) at INFO on the worker, under a logger
    named by its FILE path; our progress lines already say what matters."""
    from ray.train.v2._internal.execution import context as ray_train_context

    for logger in (logging.getLogger("ray.train"), getattr(ray_train_context, "logger", None)):
        if logger is not None:
            logger.setLevel(logging.WARNING)


def _report_with_checkpoint(
    metrics: dict,
    model,
    tokenizer,
    optimizer,
    scheduler,
    step: int,
    final: bool,
    rank: int,
    best: BestWeights,
    curve: TrainingCurve,
) -> None:
    """All workers report; rank 0 attaches the checkpoint (the others hold the same weights).

    The final checkpoint's model is the best validated weights when there are any."""
    if rank != 0:
        ray.train.report(metrics)
        return
    with tempfile.TemporaryDirectory(prefix="libra-ckpt-") as folder:
        save_training_state(Path(folder), model, optimizer, scheduler, step)
        best.save(Path(folder))
        curve.save(Path(folder))
        if final:
            best.restore_into(model)
            save_model_folder(Path(folder) / MODEL_DIR, model, tokenizer)
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(folder))
        print(f"[{metrics.get('stage', 'train')}] checkpoint saved at step {step}", flush=True)


def _batch_for_step(
    examples: list[TrainingExample],
    step: int,
    steps_per_epoch: int,
    config: StageLoopConfig,
    rank: int,
    world: int,
) -> list[TrainingExample]:
    """This worker's rows of global step ``step`` (``batch_order.step_indices``: the order
    the hf engine trains in too)."""
    lengths = [len(example.input_ids) for example in examples]
    indices = step_indices(
        lengths,
        step,
        steps_per_epoch,
        seed=config.seed,
        batch_size=config.batch_size,
        rank=rank,
        world=world,
    )
    return [examples[i] for i in indices]


def _eval_steps(steps_per_epoch: int, evals_per_epoch: int) -> set[int]:
    """Positions within an epoch (1-based, the last is ``steps_per_epoch``) to validate at."""
    count = min(evals_per_epoch, steps_per_epoch)
    return {round(steps_per_epoch * (k + 1) / count) for k in range(count)}


def _warmup_cosine(warmup_steps: int, total_steps: int):
    """Linear warm-up, then cosine decay to 10% of the peak learning rate."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _mean_over_workers(loss: torch.Tensor, world: int) -> float:
    if world > 1:
        loss = loss.clone()
        torch.distributed.all_reduce(loss)
        loss /= world
    return float(loss)


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


class _Progress:
    """Per-step losses and timing, reported in windows of ``every`` steps.

    Why windows: ``ray.train.report`` hands results to the controller through a one-slot
    queue that the controller drains once per poll (every 2 s), so reporting every
    sub-second step would throttle training to one step per poll. Each report carries every
    step's loss of its window (``step_losses``), so no per-step value is lost.
    """

    def __init__(
        self, stage: str, total: int, start: int, global_batch: int, rank: int, every: int
    ) -> None:
        self.stage, self.total, self.start = stage, total, start
        self.global_batch, self.rank, self.every = global_batch, rank, every
        self.began = self.window_began = time.perf_counter()
        self.window_losses: list[float] = []
        self.last_loss = self.last_objective = float("nan")

    def step_done(self, loss: float, objective: float) -> None:
        """``loss`` is the answer-only loss; ``objective`` adds the weighted prompt loss."""
        self.window_losses.append(loss)
        self.last_loss, self.last_objective = loss, objective

    def validated(self, step: int, result, best: BestWeights) -> None:
        if self.rank == 0:
            sets = " ".join(f"{name} {acc:.4f}" for name, acc in result.accuracy_by_set.items())
            print(
                f"[{self.stage}] step {step}/{self.total} validation accuracy "
                f"{result.accuracy:.4f} ({sets}), best {best.accuracy:.4f} at step {best.step}",
                flush=True,
            )

    def report_due(self, step: int) -> bool:
        return step % self.every == 0 or step == self.start + 1

    def report(self, step: int, lr: float, resumed_from: int) -> dict:
        """Metrics of the window ending at ``step``; rank 0 prints the progress line."""
        now = time.perf_counter()
        window_rate = (
            len(self.window_losses) * self.global_batch / max(now - self.window_began, 1e-9)
        )
        mean_rate = (step - self.start) * self.global_batch / max(now - self.began, 1e-9)
        eta_s = (self.total - step) * self.global_batch / max(mean_rate, 1e-9)
        if self.rank == 0:
            with_prompt = (
                f" (with prompt {self.last_objective:.4f})"
                if self.last_objective != self.last_loss
                else ""
            )
            print(
                f"[{self.stage}] step {step}/{self.total} loss {self.last_loss:.4f}{with_prompt} "
                f"samples/s {window_rate:.1f} ETA {_clock(eta_s)}",
                flush=True,
            )
        metrics = {
            "stage": self.stage,
            "step": step,
            "total_steps": self.total,
            "loss": self.last_loss,
            "objective": self.last_objective,
            "step_losses": list(self.window_losses),
            "samples_per_s": window_rate,
            "mean_samples_per_s": mean_rate,
            "lr": lr,
            "resumed_from_step": resumed_from,
        }
        self.window_losses.clear()
        self.window_began = now
        return metrics


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"
