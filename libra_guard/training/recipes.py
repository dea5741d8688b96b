"""Training recipes for the paper's bases (``configs/recipes/NAME.yaml``) and their dry run.

A recipe is a training config (``training:``, the same keys as ``libra-guard train --config``)
plus what it needs from the cluster: the GPUs (count, memory each), the sharding and the base's
architecture. ``plan_lines`` prints the plan and the memory per GPU that
``memory_plan.estimate_memory`` expects for each stage, without loading any weights, so a recipe
that would not fit is caught before a GPU is allocated.

Usage::

    libra-guard train --recipe qwen2.5-7b-instruct --dry-run
    libra-guard train --recipe qwen2.5-0.5b-instruct --stage1 s.jsonl --stage2 r.jsonl --out run
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from libra_guard.config_files import read_config_mapping
from libra_guard.errors import ConfigError
from libra_guard.training.config import StageName, TrainConfig, apply_overrides
from libra_guard.training.memory_plan import (
    Architecture,
    MemoryEstimate,
    RunShape,
    Sharding,
    estimate_memory,
)

#: The recipes shipped with the project.
RECIPES_DIR = Path(__file__).resolve().parents[2] / "configs" / "recipes"
#: Share of a GPU's memory a plan may use: the rest absorbs the estimate's error.
USABLE_SHARE = 0.9


class Hardware(BaseModel):
    """The GPUs a recipe runs on (one Ray Train worker per GPU)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gpus: int = Field(ge=1, description="GPUs in all (one worker each).")
    gpu_memory_gib: float = Field(gt=0, description="Memory of one GPU, GiB.")
    gpu: str = Field(description="The GPU model the numbers assume, e.g. 'A100 80GB'.")


class Recipe(BaseModel):
    """One recipe file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    hardware: Hardware
    sharding: Sharding = Field(
        default="none", description="none: DDP replicas; fsdp: parameters sharded (ZeRO-3)."
    )
    architecture: Architecture | None = Field(
        default=None, description="The base's dimensions; unset: read from its config.json."
    )
    training: TrainConfig


def recipe_path(name_or_path: str) -> Path:
    """The file of a recipe given by name (``configs/recipes/NAME.yaml``) or path.

    Raises:
        ConfigError: no such recipe; the message lists the shipped ones.
    """
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} and path.is_file():
        return path
    shipped = RECIPES_DIR / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    names = ", ".join(sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))) or "none"
    raise ConfigError(f"no recipe {name_or_path!r}; shipped recipes: {names}")


def load_recipe(name_or_path: str, **overrides: object) -> Recipe:
    """The recipe, its ``training:`` block with ``overrides`` (dotted keys, None skipped).

    Raises:
        ConfigError: unknown recipe, unreadable file or an invalid value.
    """
    path = recipe_path(name_or_path)
    values = read_config_mapping(path, "recipe")
    values.setdefault("name", path.stem)
    values["training"] = apply_overrides(dict(values.get("training") or {}), overrides)
    # The recipe's sharding is the plan's and the training's: one setting, never two.
    values["training"].setdefault("sharding", values.get("sharding", "none"))
    try:
        return Recipe.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"invalid recipe {path}: {exc}") from exc


def recipe_architecture(recipe: Recipe) -> Architecture:
    """The recipe's ``architecture``, else the base folder's ``config.json`` (no weights read).

    Raises:
        ConfigError: neither is available (a hub id without an ``architecture`` block).
    """
    if recipe.architecture is not None:
        return recipe.architecture
    config_file = Path(recipe.training.base) / "config.json"
    if config_file.is_file():
        return Architecture.model_validate(json.loads(config_file.read_text(encoding="utf-8")))
    raise ConfigError(
        f"recipe {recipe.name} has no architecture block and {recipe.training.base} is not a "
        "local model folder; add the base's dimensions under 'architecture:'"
    )


def stage_estimate(recipe: Recipe, stage: StageName) -> MemoryEstimate:
    """Memory per GPU of one stage of ``recipe``."""
    config = recipe.training
    run = RunShape(
        method=config.method(stage),
        gpus=recipe.hardware.gpus,
        sharding=recipe.sharding,
        batch_size=config.stage(stage).batch_size,
        sequence_length=config.max_length,
        gradient_checkpointing=config.gradient_checkpointing,
        lora_rank=config.lora.rank,
        lora_targets=config.lora.target_modules,
    )
    return estimate_memory(recipe_architecture(recipe), run)


def fits(recipe: Recipe, estimate: MemoryEstimate) -> bool:
    """Whether the estimate leaves the safety share of each GPU free."""
    return estimate.total_gib <= USABLE_SHARE * recipe.hardware.gpu_memory_gib


def plan_lines(recipe: Recipe) -> list[str]:
    """The dry run's report: hardware, then per stage its settings and memory per GPU."""
    config, hardware = recipe.training, recipe.hardware
    lines = [
        f"recipe {recipe.name}: {recipe.description}",
        f"base {config.base} on {hardware.gpus} x {hardware.gpu} "
        f"({hardware.gpu_memory_gib:g} GiB each), sharding {recipe.sharding}, "
        f"gradient checkpointing {'on' if config.gradient_checkpointing else 'off'}, "
        f"bf16 mixed precision {'on' if config.use_gpu else 'off (CPU)'}",
    ]
    for stage in ("stage1", "stage2"):
        settings = config.stage(stage)
        method = config.method(stage)
        lora = (
            f", LoRA rank {config.lora.rank} alpha {config.lora.alpha} on "
            f"{','.join(config.lora.target_modules)}"
            if method == "lora"
            else ""
        )
        lines.append(
            f"{stage}: {method}{lora}, lr {settings.learning_rate:g}, "
            f"{settings.batch_size} rows/GPU x {hardware.gpus} GPUs = "
            f"{settings.batch_size * hardware.gpus} rows/step, max length {config.max_length}, "
            f"{settings.epochs:g} epochs"
        )
        estimate = stage_estimate(recipe, stage)
        lines.extend(f"  {line}" for line in estimate.lines())
        budget = USABLE_SHARE * hardware.gpu_memory_gib
        verdict = "fits" if fits(recipe, estimate) else "DOES NOT FIT"
        lines.append(
            f"  {verdict}: {estimate.total_gib:.1f} GiB of the {budget:.1f} GiB planned per GPU "
            f"({USABLE_SHARE:.0%} of {hardware.gpu_memory_gib:g})"
        )
    return lines


def require_runnable(recipe: Recipe) -> None:
    """Refuse a recipe the training engine cannot run as planned, before any weight moves.

    Raises:
        ConfigError: the recipe shards with FSDP but trains with the native engine (it trains
            DDP replicas only, so a sharded plan would not fit its GPUs), or its estimate
            exceeds the GPUs' memory.
    """
    if recipe.sharding == "fsdp" and recipe.training.engine != "hf":
        raise ConfigError(
            f"recipe {recipe.name} needs FSDP sharding, which only the hf engine implements "
            f"(training.engine is {recipe.training.engine}: DDP replicas); set engine: hf, "
            "or use a recipe without sharding (e.g. qwen2.5-14b-instruct-lora)"
        )
    for stage in ("stage1", "stage2"):
        estimate = stage_estimate(recipe, stage)
        if recipe.training.use_gpu and not fits(recipe, estimate):
            raise ConfigError(
                f"recipe {recipe.name} {stage} needs ~{estimate.total_gib:.1f} GiB per GPU, more "
                f"than {USABLE_SHARE:.0%} of {recipe.hardware.gpu_memory_gib:g} GiB; lower the "
                "batch size or max_length, or shard"
            )
