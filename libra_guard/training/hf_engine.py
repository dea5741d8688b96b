"""The Hugging Face engine: one stage trained by ``transformers.Trainer`` inside Ray Train.

``train_stage_hf_per_worker`` is the ``TorchTrainer`` function when ``train.engine: hf``.
Ray Train starts the workers and their process group; the Trainer (through accelerate) runs
DDP on it, or FSDP2 with ``sharding: fsdp`` (``hf_args``), with bf16 mixed precision on GPUs,
gradient checkpointing and LoRA (peft). What stays ours:

- the batch order: length-grouped in short windows, the native loop's (``batch_order``);
- the answer-only loss with the optional prompt weight (``loss.guard_loss``, via
  ``GuardTrainer.compute_loss``) on the rows ``features.encode_row`` encodes (``hf_data``);
- validation with the verdict read-out (``selection.Validator``) as the Trainer's
  ``evaluate``; ``load_best_model_at_end`` keeps the best ``selection_score`` (accuracy, ties to
  the lower log-loss: the native loop's rule);
- the per-step curve and progress lines (``hf_callbacks``);
- the stage's final checkpoint: ``model/`` (merged, as ``checkpoint.save_model_folder`` writes
  it) and the curve, which the runner publishes exactly as it publishes the native loop's.

Checkpoints are the Trainer's own (model, optimizer, scheduler, RNG, trainer state), copied to
the run's Ray storage by Ray's ``RayTrainReportCallback``; a restarted or resumed run copies the
latest back into the work folder and continues with ``resume_from_checkpoint``. The work folder
is fixed per run and node (``work_dir``), so the best checkpoint written before a restart on the
same node is still there to be reloaded at the end; on another node the Trainer warns that it
cannot find it and keeps the last weights.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import ray.train
import ray.train.torch
import torch
import transformers
from ray.train.huggingface.transformers import RayTrainReportCallback, prepare_trainer
from transformers import Trainer
from transformers.trainer_callback import PrinterCallback

from libra_guard.modeling.base_models import materialize_base
from libra_guard.modeling.factory import load_causal_lm, load_tokenizer
from libra_guard.modeling.features import encode_row, truncation_note
from libra_guard.modeling.lora import apply_lora
from libra_guard.training.batch_order import WindowedLengthSampler
from libra_guard.training.checkpoint import MODEL_DIR, save_model_folder
from libra_guard.training.curve import TrainingCurve
from libra_guard.training.hf_args import SELECTION_METRIC, training_arguments
from libra_guard.training.hf_callbacks import StepCurveCallback
from libra_guard.training.hf_data import ExampleDataset, GuardCollator
from libra_guard.training.loop import quiet_ray_report_log
from libra_guard.training.loop_config import StageLoopConfig
from libra_guard.training.loss import guard_loss
from libra_guard.training.precision import weight_dtype
from libra_guard.training.selection import ValidationResult, Validator

#: The final checkpoint's metrics, so a run restored from it reports them again.
FINAL_METRICS = "final_metrics.json"


class GuardTrainer(Trainer):
    """``Trainer`` with the guard's loss, its per-step record and the verdict validation."""

    def __init__(
        self,
        *args,
        prompt_loss_weight: float,
        validator: Validator | None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.prompt_loss_weight = prompt_loss_weight
        self.validator = validator
        # guard_loss is a mean over the batch's answer tokens; with one batch per step the
        # Trainer must neither pass nor expect token counts.
        self.model_accepts_loss_kwargs = False
        self._losses: torch.Tensor | None = None
        #: (answer loss, objective, lr, tokens) of the last step, averaged over the workers.
        self.step_record: tuple[float, float, float, int] = (float("nan"),) * 3 + (0,)

    def _get_train_sampler(self, train_dataset=None) -> WindowedLengthSampler:
        """The native loop's batch order (``batch_order``), not the Trainer's own sampler."""
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        return WindowedLengthSampler(
            [len(example.input_ids) for example in dataset.examples],
            seed=self.args.seed,
            batch_size=self.args.per_device_train_batch_size,
            world=self.args.world_size,
        )

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = guard_loss(model, inputs, self.prompt_loss_weight)
        self._losses = torch.stack([loss.answer, loss.objective.detach()])
        return (loss.objective, None) if return_outputs else loss.objective

    def training_step(self, model, inputs, num_items_in_batch=None):
        lr = self.lr_scheduler.get_last_lr()[0]
        tokens = int(inputs["attention_mask"].sum())
        loss = super().training_step(model, inputs, num_items_in_batch)
        losses, world = self._losses, self.args.world_size
        if world > 1:
            losses = losses.clone()
            torch.distributed.all_reduce(losses)
            losses /= world
        answer, objective = (float(value) for value in losses)
        self.step_record = (answer, objective, lr, tokens * world)
        return loss

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
        """The verdict accuracy on the validation sets, as the Trainer's evaluation."""
        result = self._validate()
        prefix = metric_key_prefix
        metrics = {
            f"{prefix}_val_accuracy": result.accuracy,
            f"{prefix}_val_log_loss": result.log_loss,
            f"{prefix}_{SELECTION_METRIC}": result.selection_score(),
            **{
                f"{prefix}_val_accuracy_{name}": accuracy
                for name, accuracy in result.accuracy_by_set.items()
            },
        }
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(
            self.args, self.state, self.control, metrics
        )
        return metrics

    def _validate(self) -> ValidationResult:
        """Score on every worker under FSDP (each holds a shard, the forward pass gathers);
        otherwise rank 0 scores its full replica and sends the result to the others."""
        if self.is_fsdp_enabled:
            result = self.validator.score(self.model_wrapped)
        else:
            result = None
            if self.args.process_index == 0:
                result = self.validator.score(self.accelerator.unwrap_model(self.model))
            if self.args.world_size > 1:
                shared = [result]
                torch.distributed.broadcast_object_list(shared, src=0)
                result = shared[0]
        self.model.train()
        return result


def train_stage_hf_per_worker(loop_dict: dict[str, Any]) -> None:
    """Train one stage with the Trainer; ``loop_dict`` is a ``StageLoopConfig`` as a dict."""
    config = StageLoopConfig.model_validate(loop_dict)
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    torch.set_num_threads(
        config.threads or max(1, (os.cpu_count() or 1) // context.get_local_world_size())
    )
    device = ray.train.torch.get_device()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    quiet_ray_report_log()
    warnings.filterwarnings("ignore", category=FutureWarning)
    work = work_dir(context.get_experiment_name())
    checkpoint = ray.train.get_checkpoint()
    resume_from = None
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            if (Path(folder) / MODEL_DIR).is_dir():
                _report_final_again(Path(folder), rank)
                return
            resume_from = _restore_locally(Path(folder), work, context.get_local_rank())
    elif context.get_local_rank() == 0:
        shutil.rmtree(work, ignore_errors=True)
    if world > 1:
        torch.distributed.barrier()

    source = materialize_base(config.model_source, Path(config.model_cache))
    tokenizer = load_tokenizer(source)
    model = load_causal_lm(source, dtype=weight_dtype(config.method, device))
    if config.method == "lora":
        model = apply_lora(model, config.lora)
    examples = [encode_row(tokenizer, row, config.max_length) for row in config.rows]
    note = truncation_note(examples, config.max_length)
    if note and rank == 0:
        print(f"[{config.stage}] {note}", flush=True)

    curve = StepCurveCallback(config.stage, config.batch_size * world, config.report_every, rank)
    if resume_from is not None:
        curve.curve = TrainingCurve.load(resume_from)
    validator = Validator.of_sets(config.validation, tokenizer)
    pad_id = tokenizer.pad_token_id
    pad_id = tokenizer.eos_token_id if pad_id is None else pad_id
    trainer = GuardTrainer(
        model=model,
        args=training_arguments(config, work, world=world, use_gpu=device.type == "cuda"),
        train_dataset=ExampleDataset(examples),
        # The Trainer asks for an evaluation set when it validates; ``evaluate`` scores the
        # validator's rows instead, so any non-empty set does.
        eval_dataset=ExampleDataset(examples[:1]) if validator else None,
        data_collator=GuardCollator(pad_id),
        processing_class=tokenizer,
        callbacks=[curve, RayTrainReportCallback()],
        prompt_loss_weight=config.prompt_loss_weight,
        validator=validator,
    )
    if config.sharding == "fsdp" and not trainer.is_fsdp_enabled:
        # Fail closed: accelerate drops the FSDP plugin where it cannot shard (CPU runs).
        raise RuntimeError(
            f"sharding: fsdp was asked but accelerate enabled no FSDP on {device.type}; "
            "FSDP runs on GPUs only"
        )
    trainer.remove_callback(PrinterCallback)
    curve.trainer = trainer
    trainer = prepare_trainer(trainer)
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    _report_final(trainer, tokenizer, curve, config.stage, rank)


def work_dir(run_name: str) -> Path:
    """The Trainer's output folder: the same for every worker of a run on one node (FSDP
    writes its checkpoint from several ranks) and across restarts (the best checkpoint)."""
    return Path(tempfile.gettempdir()) / "libra-hf" / run_name


def _restore_locally(folder: Path, work: Path, local_rank: int) -> Path:
    """Copy the Ray checkpoint's Trainer checkpoint into the work folder (once per node);
    returns its local path, named as the Trainer names it.

    Local checkpoints of later steps (written by the stopped run after its last report, maybe
    half) are removed: the Trainer's ``get_last_checkpoint``, which Ray's report callback
    copies from, would otherwise pick them over the resumed run's own."""
    source = folder / RayTrainReportCallback.CHECKPOINT_NAME
    step = json.loads((source / "trainer_state.json").read_text(encoding="utf-8"))["global_step"]
    target = work / f"checkpoint-{step}"
    if local_rank == 0:
        for stale in work.glob("checkpoint-*"):
            suffix = stale.name.removeprefix("checkpoint-")
            if suffix.isdigit() and int(suffix) > step:
                shutil.rmtree(stale, ignore_errors=True)
        if not (target / "trainer_state.json").is_file():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
    return target


def _final_metrics(trainer: GuardTrainer, curve: StepCurveCallback, stage: str) -> dict:
    state = trainer.state
    metrics = {
        "stage": stage,
        "step": state.global_step,
        "total_steps": state.max_steps,
        "loss": curve.last_loss,
        "objective": curve.last_objective,
        "mean_samples_per_s": curve.mean_samples_per_s(state.global_step),
        "resumed_from_step": curve.start_step,
        "engine": "hf",
        # What the Trainer actually did, not what was asked: a record to check and compare.
        "sharding": "fsdp" if trainer.is_fsdp_enabled else "none",
    }
    best = state.best_global_step
    if best:
        accuracy = next(
            entry["eval_val_accuracy"]
            for entry in state.log_history
            if entry.get("step") == best and "eval_val_accuracy" in entry
        )
        metrics.update(best_step=best, best_val_accuracy=accuracy)
    return metrics


def _report_final(trainer: GuardTrainer, tokenizer, curve: StepCurveCallback, stage, rank) -> None:
    """Every worker reports; rank 0 attaches ``model/`` (the best weights when validated,
    LoRA merged), the curve and the metrics. Under FSDP the full weights are gathered from
    every worker (``save_model``), so all of them take part."""
    metrics = _final_metrics(trainer, curve, stage)
    with tempfile.TemporaryDirectory(prefix="libra-final-") as folder:
        model_dir = Path(folder) / MODEL_DIR
        if trainer.is_fsdp_enabled:
            trainer.save_model(str(model_dir))
            if rank == 0:
                tokenizer.save_pretrained(model_dir)
        elif rank == 0:
            save_model_folder(model_dir, trainer.model, tokenizer)
        if rank != 0:
            ray.train.report(metrics)
            return
        curve.curve.save(Path(folder))
        (Path(folder) / FINAL_METRICS).write_text(json.dumps(metrics), encoding="utf-8")
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(folder))
        print(f"[{stage}] final model saved at step {metrics['step']}", flush=True)


def _report_final_again(folder: Path, rank: int) -> None:
    """A run restored from its final checkpoint (killed before the driver copied the model
    out) reports that checkpoint again, so that the run's result carries the model."""
    metrics = json.loads((folder / FINAL_METRICS).read_text(encoding="utf-8"))
    if rank != 0:
        ray.train.report(metrics)
        return
    with tempfile.TemporaryDirectory(prefix="libra-final-") as copy:
        shutil.copytree(folder, copy, dirs_exist_ok=True)
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(copy))
