"""The Hugging Face engine's arguments: what a recipe asks for reaches the Trainer (FSDP on the
decoder layers, bf16 mixed precision, length-grouped batches, validation selection), and the
schedule is the native loop's."""

from __future__ import annotations

from pathlib import Path

from transformers import TrainingArguments

from libra_guard.training.hf_args import argument_values, stage_steps, training_arguments
from libra_guard.training.loop_config import stage_loop_config
from libra_guard.training.recipes import load_recipe
from tests.training.configs import small_config


def test_a_sharded_recipe_gives_fsdp_on_the_decoder_layers(synth_rows, tmp_path) -> None:
    recipe = load_recipe("qwen2.5-7b-instruct")
    loop = stage_loop_config(
        "stage2", recipe.training, synth_rows[:40], "base", {"stage2": synth_rows[40:]}
    )
    values = argument_values(loop, tmp_path, world=recipe.hardware.gpus, use_gpu=True)
    assert values["fsdp"] is True
    assert values["fsdp_config"]["transformer_layer_cls_to_wrap"] == ["Qwen2DecoderLayer"]
    assert values["fsdp_config"]["version"] == 2
    assert values["fsdp_config"]["state_dict_type"] == "FULL_STATE_DICT"
    # Activation checkpointing inside FSDP, not the model's own (a redundant all-gather).
    assert values["fsdp_config"]["activation_checkpointing"] is True
    assert values["activation_checkpointing"] is False
    assert values["bf16"] is True and values["use_cpu"] is False
    assert values["per_device_train_batch_size"] == recipe.training.stage2.batch_size
    assert values["learning_rate"] == recipe.training.stage2.learning_rate
    assert values["load_best_model_at_end"] is True
    assert values["save_steps"] == values["eval_steps"]
    # 40 rows, 8 per GPU on 8 GPUs: one step per epoch, two epochs.
    assert values["max_steps"] == 2


def test_a_replicated_recipe_trains_ddp_with_model_checkpointing(synth_rows, tmp_path) -> None:
    recipe = load_recipe("qwen2.5-0.5b-instruct")
    loop = stage_loop_config("stage1", recipe.training, synth_rows, "base")
    values = argument_values(loop, tmp_path, world=recipe.hardware.gpus, use_gpu=True)
    assert values["fsdp"] is None and values["fsdp_config"] is None
    assert values["activation_checkpointing"] is recipe.training.gradient_checkpointing
    assert values["load_best_model_at_end"] is False and values["eval_strategy"] == "no"


def test_cpu_arguments_are_fp32_and_valid_for_transformers(synth_rows, tmp_path) -> None:
    config = small_config(engine="hf")
    loop = stage_loop_config("stage1", config, synth_rows, "base")
    args = training_arguments(loop, Path(tmp_path), world=2, use_gpu=False)
    assert isinstance(args, TrainingArguments)
    assert args.bf16 is False and args.use_cpu is True
    assert args.max_steps == stage_steps(len(synth_rows), 8, 2, 1.0)[1] == 4
