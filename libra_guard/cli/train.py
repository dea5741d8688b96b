"""``libra-guard train``: wires options to ``libra_guard.training`` and prints the outcome."""

from __future__ import annotations

from pathlib import Path

import typer

from libra_guard.cli.errors import handle_errors
from libra_guard.errors import ConfigError
from libra_guard.settings import load_settings


@handle_errors
def train(
    stage1: str | None = typer.Option(
        None, "--stage1", help="Stage-1 (synthetic) rows: JSONL/JSON path, s3:// or hf:// URI."
    ),
    stage2: str | None = typer.Option(
        None, "--stage2", help="Stage-2 (real) rows, trained from stage 1's weights."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Output folder: stage1/, stage2/, final/ (+ checkpoints/). Rerun to resume.",
    ),
    preset: str | None = typer.Option(
        None,
        "--preset",
        help="Base model: 'tiny' or 'small' (built here, for CPUs) or a local folder / hub id.",
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Ray Train workers (data parallel). Default 1."
    ),
    use_gpu: bool | None = typer.Option(
        None, "--use-gpu/--no-gpu", help="One GPU per worker. Default: CPU."
    ),
    config: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False, help="Training config YAML."
    ),
    epochs1: float | None = typer.Option(None, "--epochs1", min=0.01, help="Stage-1 epochs."),
    epochs2: float | None = typer.Option(None, "--epochs2", min=0.01, help="Stage-2 epochs."),
    max_length: int | None = typer.Option(
        None, "--max-length", min=64, help="Longest training sequence in tokens."
    ),
    restart: bool = typer.Option(
        False,
        "--restart",
        help="Discard OUT's earlier stages and checkpoints and train from scratch (needed "
        "when the data, config or base model changed since they were made).",
    ),
    recipe: str | None = typer.Option(
        None,
        "--recipe",
        help="A recipe of configs/recipes (e.g. qwen2.5-7b-instruct) or its YAML path; "
        "replaces --config.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="With --recipe: print the plan and memory per GPU, train nothing."
    ),
) -> None:
    """Train a guard: stage 1 on synthetic rows, stage 2 on real rows, on Ray Train.

    Joins the Ray cluster in LIBRA_RAY_ADDRESS, else starts a local one.

    Rerunning the same command skips finished stages and resumes an unfinished one; with
    other data, config or base it stops instead (--restart starts fresh).

    OUT/final loads offline with GuardJudge.load and transformers' from_pretrained.
    """
    from libra_guard.training.config import load_train_config
    from libra_guard.training.inputs import load_stage_data
    from libra_guard.training.recipes import load_recipe, plan_lines, require_runnable
    from libra_guard.training.runner import train_guard

    overrides = {
        "base": preset,
        "num_workers": workers,
        "use_gpu": use_gpu,
        "max_length": max_length,
        "stage1.epochs": epochs1,
        "stage2.epochs": epochs2,
    }
    if dry_run and recipe is None:
        raise ConfigError("--dry-run needs --recipe NAME (see configs/recipes/)")
    if recipe is not None and config is not None:
        raise ConfigError("pass either --recipe or --config, not both")
    settings = load_settings(config)
    if recipe is not None:
        loaded = load_recipe(recipe, **overrides)
        if dry_run:
            for line in plan_lines(loaded):
                typer.echo(line)
            return
        require_runnable(loaded)
        train_config = loaded.training
    else:
        train_config = load_train_config(config, **overrides)
    missing = [name for name, value in (("--stage1", stage1), ("--stage2", stage2), ("--out", out))
               if value is None]  # fmt: skip
    if missing:
        raise ConfigError(f"missing {', '.join(missing)}: training needs both data files and OUT")
    data1 = load_stage_data(stage1, settings)
    data2 = load_stage_data(stage2, settings)
    outcome = train_guard(
        train_config,
        data1.rows,
        data2.rows,
        out,
        settings=settings,
        data_digests={"stage1": data1.provenance(), "stage2": data2.provenance()},
        restart=restart,
        log=typer.echo,
    )
    for stage in outcome.stages:
        state = "skipped (already done)" if stage.skipped else f"{stage.seconds:.0f}s"
        typer.echo(
            f"{stage.name}: {stage.method}, {stage.steps} steps, loss {stage.final_loss:.4f}, "
            f"{stage.samples_per_s:.1f} samples/s, {state}"
        )
    typer.echo(f"final model: {outcome.final_dir}")
