"""``libra-guard eval``: score a guard on labelled data with the Libra-Test protocol.

Either run a model (``--model``) or score answers it already gave (``--predictions``, JSONL rows
``{"id", "critic"}`` as the paper's inference script writes them). Prints the paper's table
(per source and the plain Average, in percent) and where the files went::

    libra-guard eval --data test.json --out runs/eval --model runs/demo/final
    libra-guard eval --data test.json --out runs/eval --model runs/demo/final --mode verdict
    libra-guard eval --data test.json --out runs/eval --predictions preds/

The command only wires; the work is in ``libra_guard.evaluation``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from libra_guard.cli.errors import handle_errors
from libra_guard.errors import ConfigError

console = Console()


class EvalMode(StrEnum):
    """How ``--model`` is run."""

    generate = "generate"
    verdict = "verdict"


@handle_errors
def evaluate(
    data: Annotated[
        str, typer.Option("--data", help="Labelled rows: JSONL or a JSON list, local or s3://.")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for metrics.json, predictions.jsonl, figures.")
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model folder, hub id or registry URI (models:/libra-guard@champion, verified "
            "against its sha256 manifest) of the guard to run.",
        ),
    ] = None,
    predictions: Annotated[
        str | None,
        typer.Option(
            "--predictions",
            help='Answers to score instead of running a model: JSONL {"id", "critic"} rows, '
            "or a folder of *.jsonl shards.",
        ),
    ] = None,
    mode: Annotated[
        EvalMode,
        typer.Option(
            "--mode",
            help="generate: the paper's protocol (greedy generation, scored by its rule); "
            "verdict: P(不安全) from one forward pass, no generation.",
        ),
    ] = EvalMode.generate,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per pass.")] = 16,
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", min=1, help="Generation limit (paper: 256).")
    ] = 256,
    threshold: Annotated[
        float,
        typer.Option("--threshold", min=0.0, max=1.0, help="verdict mode: P(不安全) cut-off."),
    ] = 0.5,
    with_scores: Annotated[
        bool,
        typer.Option("--with-scores", help="generate mode: also compute P(不安全) for ROC-AUC."),
    ] = False,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing", help="--predictions: count data rows without an answer as wrong."
        ),
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help="Evaluate only the first N rows (with --predictions, answers for other rows "
            "are ignored).",
        ),
    ] = None,
) -> None:
    """Evaluate a guard on labelled data with the Libra-Test protocol."""
    if (model is None) == (predictions is None):
        raise ConfigError("give exactly one of --model (run a guard) or --predictions (score)")
    if predictions is not None and (mode is not EvalMode.generate or with_scores):
        raise ConfigError("--mode and --with-scores apply to --model only, not to --predictions")
    # Imported here so that `libra-guard --help` does not load sklearn and matplotlib.
    from libra_guard.data.io import read_rows
    from libra_guard.evaluation.outputs import EvaluationFiles
    from libra_guard.evaluation.report import levels_table, metrics_table, tasks_table
    from libra_guard.evaluation.runner import evaluate_model, evaluate_predictions
    from libra_guard.settings import load_settings

    settings = load_settings()
    rows = read_rows(data, settings=settings)
    if limit is not None:
        rows = rows[:limit]
    if model is not None:
        metrics = evaluate_model(
            _local_model(model),
            rows,
            out,
            mode=mode.value,
            batch_size=batch_size,
            max_new_tokens=max_new_tokens,
            threshold=threshold,
            with_scores=with_scores,
        )
        title = f"{model} ({mode.value})"
    else:
        metrics = evaluate_predictions(
            predictions,
            rows,
            out,
            allow_missing=allow_missing,
            allow_unknown=limit is not None,
            settings=settings,
        )
        title = f"predictions {predictions}"
    console.print(metrics_table(metrics, title=title))
    by_task = tasks_table(metrics)
    if by_task is not None:
        console.print(by_task)
    if "levels" in metrics:
        console.print(levels_table(metrics["levels"]))
    _print_notes(metrics)
    files = EvaluationFiles.in_folder(out)
    for path in (files.metrics, files.predictions, files.category_plot, files.confusion_plot):
        console.print(f"wrote {path}", soft_wrap=True, highlight=False)


def _print_notes(metrics: dict) -> None:
    """Say plainly what changed the figures: unscorable answers and rows without one."""
    missing = metrics["run"].get("missing", 0)
    if missing:
        console.print(
            f"[yellow]{missing} data row(s) had no prediction; they count as unscorable, so "
            "wrong[/]"
        )
    if metrics["unparseable"]:
        console.print(
            f"[yellow]{metrics['unparseable']} of {metrics['n']} answer(s) could not be scored "
            "and count as wrong[/]"
        )
    if metrics["roc_auc"] is not None:
        console.print(f"ROC-AUC of P(不安全): {metrics['roc_auc']:.4f}")


def _local_model(model: str) -> str:
    """A registry URI becomes its verified local copy; a folder or hub id stays as it is."""
    if not model.startswith("models:/"):
        return model
    from libra_guard.tracking.registry import download_model

    return str(download_model(model))
