"""Recipes for the paper's bases: each loads, its dry run prints a plan that fits its GPUs, its
parameter count is the real model's, and a plan the engine cannot run is refused."""

from __future__ import annotations

import pytest
import torch
import typer
from transformers import Qwen2Config, Qwen2ForCausalLM
from typer.testing import CliRunner

from libra_guard.cli.train import train
from libra_guard.data.io import write_jsonl
from libra_guard.errors import ConfigError
from libra_guard.training.memory_plan import Architecture, RunShape, estimate_memory
from libra_guard.training.recipes import (
    RECIPES_DIR,
    fits,
    load_recipe,
    plan_lines,
    require_runnable,
    stage_estimate,
)

app = typer.Typer()
app.command()(train)

RECIPE_NAMES = sorted(path.stem for path in RECIPES_DIR.glob("*.yaml"))
#: Parameter counts of the Qwen2.5 bases as their model cards round them, in billions.
PUBLISHED_BILLIONS = {"0.5b": 0.49, "1.5b": 1.54, "3b": 3.09, "7b": 7.61, "14b": 14.7}


def test_every_paper_base_has_a_recipe() -> None:
    for size in PUBLISHED_BILLIONS:
        assert f"qwen2.5-{size}-instruct" in RECIPE_NAMES


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_recipe_parameter_count_is_the_models_own(name: str) -> None:
    recipe = load_recipe(name)
    arch = recipe.architecture
    config = Qwen2Config(**arch.model_dump())
    with torch.device("meta"):  # shapes only: no memory, no weights
        model = Qwen2ForCausalLM(config)
    assert arch.parameters() == model.num_parameters()
    size = name.removeprefix("qwen2.5-").split("-")[0]
    assert arch.parameters() / 1e9 == pytest.approx(PUBLISHED_BILLIONS[size], rel=0.01)


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_recipe_plans_fit_their_gpus(name: str) -> None:
    recipe = load_recipe(name)
    for stage in ("stage1", "stage2"):
        assert fits(recipe, stage_estimate(recipe, stage))
    assert recipe.training.num_workers == recipe.hardware.gpus


def test_lora_adapter_parameters_match_peft() -> None:
    from peft import LoraConfig, get_peft_model

    arch = Architecture(
        hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=600, tie_word_embeddings=True,
    )  # fmt: skip
    targets = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    model = get_peft_model(
        Qwen2ForCausalLM(Qwen2Config(**arch.model_dump())),
        LoraConfig(r=8, target_modules=list(targets)),
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert arch.lora_parameters(8, targets) == trainable


def test_sharding_and_checkpointing_lower_the_estimate() -> None:
    arch = load_recipe("qwen2.5-7b-instruct").architecture
    one = RunShape("full", 1, "none", 4, 1024, gradient_checkpointing=False)
    sharded = RunShape("full", 8, "fsdp", 4, 1024, gradient_checkpointing=False)
    checkpointed = RunShape("full", 8, "fsdp", 4, 1024, gradient_checkpointing=True)
    full, fsdp, ckpt = (estimate_memory(arch, run) for run in (one, sharded, checkpointed))
    # 16 B/param unsharded (+2 B of bf16 copies) versus 16 B / 8 GPUs.
    assert full.weights_and_optimizer_gib == pytest.approx(18 * 7.6156e9 / 1024**3, rel=1e-3)
    assert fsdp.weights_and_optimizer_gib == pytest.approx(2 * 7.6156e9 / 1024**3, rel=1e-3)
    assert ckpt.activations_gib < fsdp.activations_gib / 5


def test_dry_run_prints_the_plan_without_data_or_weights(tmp_path) -> None:
    result = CliRunner().invoke(app, ["--recipe", "qwen2.5-14b-instruct", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "8 x A100 / H100 80GB" in result.output
    assert "sharding fsdp" in result.output
    assert result.output.count("total per GPU") == 2
    assert "DOES NOT FIT" not in result.output
    assert "fits:" in result.output


def test_fsdp_recipe_on_cpus_is_refused_before_any_work(tmp_path, synth_rows) -> None:
    write_jsonl(synth_rows[:4], tmp_path / "a.jsonl")
    result = CliRunner().invoke(
        app,
        ["--recipe", "qwen2.5-7b-instruct", "--no-gpu", "--stage1", str(tmp_path / "a.jsonl"),
         "--stage2", str(tmp_path / "a.jsonl"), "--out", str(tmp_path / "o")],
        env={"COLUMNS": "300"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "sharding: fsdp needs use_gpu: true" in " ".join(result.output.split())
    assert not (tmp_path / "o").exists()


def test_fsdp_recipe_with_the_native_engine_is_refused() -> None:
    with pytest.raises(ConfigError, match="only the hf engine implements"):
        require_runnable(load_recipe("qwen2.5-7b-instruct", engine="native"))
    with pytest.raises(ConfigError, match="needs engine: hf"):
        load_recipe("qwen2.5-7b-instruct", engine="native").training.require_engine_support()
    require_runnable(load_recipe("qwen2.5-7b-instruct"))  # engine hf: runnable as planned


def test_unknown_recipe_lists_the_shipped_ones() -> None:
    result = CliRunner().invoke(app, ["--recipe", "qwen9-1t", "--dry-run"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "qwen2.5-0.5b-instruct" in result.output


def test_dry_run_needs_a_recipe() -> None:
    result = CliRunner().invoke(app, ["--dry-run"])
    assert result.exit_code == 2
    assert "--recipe" in result.output


def test_a_plan_over_the_gpu_memory_is_refused(tmp_path) -> None:
    recipe = load_recipe("qwen2.5-1.5b-instruct", **{"stage1.batch_size": 64})
    assert any("DOES NOT FIT" in line for line in plan_lines(recipe))
    with pytest.raises(ConfigError, match="GiB per GPU"):
        require_runnable(recipe)


def test_architecture_is_read_from_a_local_base_folder(tmp_path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(
        Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, vocab_size=700).to_json_string(),
        encoding="utf-8",
    )  # fmt: skip
    recipe_file = tmp_path / "mine.yaml"
    recipe_file.write_text(
        "description: a local base\nhardware: {gpus: 1, gpu_memory_gib: 16, gpu: T4}\n"
        f"training: {{base: '{base}', use_gpu: true}}\n",
        encoding="utf-8",
    )
    recipe = load_recipe(str(recipe_file))
    assert (
        stage_estimate(recipe, "stage1").parameters
        == 64 * 700 * 2
        + 2 * ((64 * 64 + 64) + 2 * (64 * 32 + 32) + 64 * 64 + 3 * 64 * 128 + 2 * 64)
        + 64
    )
