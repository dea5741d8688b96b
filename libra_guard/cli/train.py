"""``libra-guard train``: wires options to ``libra_guard.training`` and prints the outcome."""

from __future__ import annotations

from pathlib import Path

import typer

from libra_guard.cli.errors import handle_errors
from libra_guard.settings import load_settings


@handle_errors
def train(
    stage1: str = typer.Option(
        ..., "--stage1", help="Stage-1 (synthetic) rows: JSONL/JSON path, s3:// or hf:// URI."
    ),
    stage2: str = typer.Option(
        ..., "--stage2", help="Stage-2 (real) rows, trained from stage 1's weights."
    ),
    out: Path = typer.Option(
        ...,
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
) -> None:
    """Train a guard: stage 1 on synthetic rows, stage 2 on real rows, on Ray Train.

    Joins the Ray cluster in LIBRA_RAY_ADDRESS, else starts a local one.

    Rerunning the same command skips finished stages and resumes an unfinished one; with
    other data, config or base it stops instead (--restart starts fresh).

    OUT/final loads offline with GuardJudge.load and transformers' from_pretrained.
    """
    from libra_guard.training.config import load_train_config
    from libra_guard.training.inputs import load_stage_data
    from libra_guard.training.runner import train_guard

    settings = load_settings(config)
    train_config = load_train_config(
        config,
        base=preset,
        num_workers=workers,
        use_gpu=use_gpu,
        max_length=max_length,
        **{"stage1.epochs": epochs1, "stage2.epochs": epochs2},
    )
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
