"""The ``transformers.TrainingArguments`` of one stage, built from its ``StageLoopConfig``.

One pure function, so the arguments a recipe produces can be checked without training:

- the same schedule as the native loop: ``ceil(epochs * ceil(rows / global batch))`` steps,
  AdamW (betas 0.9/0.95), clipping at 1.0, linear warm-up then cosine decay to 10%;
- bf16 mixed precision on a GPU (weights and optimizer in fp32, products in bf16 under
  autocast), fp32 on CPU;
- no sampling strategy: ``hf_engine.GuardTrainer`` brings its own sampler (``batch_order``,
  length-grouped batches in the native loop's order);
- validation ``evals_per_epoch`` times per epoch, a checkpoint at each (the best one must exist
  to be reloaded) and ``load_best_model_at_end`` on ``selection_score`` (see ``hf_engine``);
- FSDP (``sharding: fsdp``): every decoder layer its own shard unit, full state dicts in
  checkpoints, activation checkpointing inside FSDP rather than the model's own.
"""

from __future__ import annotations

import math
from pathlib import Path

from transformers import TrainingArguments

from libra_guard.training.loop_config import StageLoopConfig

#: The decoder layer class of the Qwen2 family (all the recipes' bases and the built presets):
#: FSDP's shard unit.
DECODER_LAYER = "Qwen2DecoderLayer"
#: The metric ``load_best_model_at_end`` maximises (``hf_engine.GuardTrainer.evaluate``).
SELECTION_METRIC = "selection_score"
#: Local checkpoints kept (the best one is always kept besides); Ray storage keeps its own.
LOCAL_CHECKPOINTS = 2


def stage_steps(rows: int, batch_size: int, world: int, epochs: float) -> tuple[int, int]:
    """``(steps per epoch, total steps)`` of a stage, as the native loop counts them."""
    steps_per_epoch = math.ceil(rows / (batch_size * world))
    return steps_per_epoch, max(1, math.ceil(epochs * steps_per_epoch))


def eval_interval(steps_per_epoch: int, evals_per_epoch: int) -> int:
    """Steps between validations: ``evals_per_epoch`` evenly spaced passes per epoch."""
    return max(1, steps_per_epoch // max(1, min(evals_per_epoch, steps_per_epoch)))


def fsdp_config(config: StageLoopConfig) -> dict:
    """FSDP2 settings: shard parameters, gradients and optimizer state over every worker."""
    return {
        "version": 2,
        "reshard_after_forward": True,
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        "transformer_layer_cls_to_wrap": [DECODER_LAYER],
        "state_dict_type": "FULL_STATE_DICT",
        "activation_checkpointing": config.gradient_checkpointing,
    }


def training_arguments(
    config: StageLoopConfig, output_dir: Path, *, world: int, use_gpu: bool
) -> TrainingArguments:
    """The Trainer's arguments for ``config`` on ``world`` workers (validated by
    transformers against this machine: bf16 needs a GPU here)."""
    return TrainingArguments(**argument_values(config, output_dir, world=world, use_gpu=use_gpu))


def argument_values(
    config: StageLoopConfig, output_dir: Path, *, world: int, use_gpu: bool
) -> dict:
    """``training_arguments``' keyword arguments: checkable on a machine without the GPUs."""
    steps_per_epoch, total_steps = stage_steps(
        len(config.rows), config.batch_size, world, config.epochs
    )
    validating = bool(config.validation)
    interval = eval_interval(steps_per_epoch, config.evals_per_epoch)
    sharded = config.sharding == "fsdp"
    return dict(
        output_dir=str(output_dir),
        max_steps=total_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=16,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        adam_beta1=0.9,
        adam_beta2=0.95,
        max_grad_norm=1.0,
        optim="adamw_torch",
        warmup_steps=config.warmup_steps,
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": 0.1},
        bf16=use_gpu,
        use_cpu=not use_gpu,
        seed=config.seed,
        logging_strategy="steps",
        logging_steps=config.report_every,
        save_strategy="steps",
        save_steps=interval if validating else config.checkpoint_every,
        save_total_limit=LOCAL_CHECKPOINTS,
        eval_strategy="steps" if validating else "no",
        eval_steps=interval if validating else None,
        load_best_model_at_end=validating,
        metric_for_best_model=SELECTION_METRIC if validating else None,
        greater_is_better=True,
        activation_checkpointing=config.gradient_checkpointing and not sharded,
        activation_checkpointing_kwargs={"use_reentrant": False},
        fsdp=True if sharded else None,
        fsdp_config=fsdp_config(config) if sharded else None,
        ddp_find_unused_parameters=False,
        dataloader_pin_memory=use_gpu,
        remove_unused_columns=False,
        report_to="none",
        disable_tqdm=True,
    )
