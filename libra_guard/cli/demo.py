"""``libra-guard demo``: the whole embedded-default run, then the metrics table."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from libra_guard.cli.errors import handle_errors
from libra_guard.settings import load_settings

console = Console()


@handle_errors
def demo(
    out: Path | None = typer.Option(
        None, "--out", help="Output folder. Default: LIBRA_STATE_DIR/demo (.libra/demo)."
    ),
    real_data: str | None = typer.Option(
        None,
        "--real-data",
        help=(
            "A real labelled JSONL/JSON (path, s3:// or hf:// URI) replacing the synthetic "
            "stage-2 data; split by question into train and test."
        ),
    ),
    config: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False, help="Demo config YAML (configs/demo.yaml)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed of every generated dataset."),
    mode: str | None = typer.Option(
        None, "--mode", help="Evaluation: verdict (one forward pass) or generate (the paper's)."
    ),
) -> None:
    """Synthesise data, train both stages on a local Ray head with the tiny model, evaluate.

    Rerunning with the same output folder skips training stages that finished. Everything
    runs on this machine; no model or data is downloaded.
    """
    from libra_guard.demo import load_demo_config, run_demo
    from libra_guard.evaluation.report import metrics_table, tasks_table

    settings = load_settings(config)
    demo_config = load_demo_config(
        config, {"data.real_data": real_data, "data.seed": seed, "eval.mode": mode}
    )
    out_dir = out or settings.state_dir / "demo"
    result = run_demo(demo_config, out_dir, settings, log=console.print)
    console.print(metrics_table(result.metrics, title="Held-out test set (Libra-Test protocol)"))
    by_task = tasks_table(result.metrics)
    if by_task is not None:
        console.print(by_task)
    if result.metrics.get("roc_auc") is not None:
        console.print(f"ROC-AUC of P(不安全): {result.metrics['roc_auc']:.4f}")
    console.print(f"data:    {result.data.stage1.parent} (quarantine files beside each dataset)")
    console.print(f"model:   {result.model_dir}")
    console.print(f"metrics: {result.eval_dir / 'metrics.json'}")
    console.print(f"plots:   {result.eval_dir}/*.png")
