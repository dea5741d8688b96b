"""``libra-guard monitor drift``: compare captured traffic with the champion's evaluation.

Exit codes, for a scheduler (the chart's CronJob) to act on: 0 no drift, 3 drift beyond the
limits, 4 inconclusive (too few items in the window); 2 a user error (bad URI, no capture),
1 a bug.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console

from libra_guard.cli.errors import handle_errors
from libra_guard.settings import load_settings

console = Console()
app = typer.Typer(help="Watch the served guard: drift of its traffic.", no_args_is_help=True)
EXIT_DRIFT = 3
EXIT_INCONCLUSIVE = 4


@app.command("drift")
@handle_errors
def drift(
    capture: str = typer.Option(..., "--capture", help="Capture URI (s3://… or a folder)."),
    model: str = typer.Option(
        "models:/libra-guard@champion",
        "--model",
        help="The registered version whose pipeline evaluation is the reference.",
    ),
    reference: Path | None = typer.Option(
        None,
        "--reference",
        exists=True,
        file_okay=False,
        help="An evaluation folder (predictions.jsonl) to use instead of --model's.",
    ),
    reference_data: str | None = typer.Option(
        None, "--reference-data", help="The evaluation's data (JSONL) for input lengths."
    ),
    days: int = typer.Option(7, "--days", min=1, help="Window: the last N days (UTC)."),
    until: str | None = typer.Option(None, "--until", help="Last day of the window, YYYY-MM-DD."),
    psi_max: float = typer.Option(0.2, "--psi-max", help="PSI above which a view has shifted."),
    p_value_max: float = typer.Option(0.01, "--p-value-max", help="Two-sample test level."),
    min_items: int = typer.Option(50, "--min-items", help="Fewer captured items: inconclusive."),
    out: Path | None = typer.Option(None, "--out", help="Also keep the report in this folder."),
    config: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False, help="Config YAML with a settings: block."
    ),
) -> None:
    """Check the last --days of captured traffic for drift; log the report to MLflow."""
    from libra_guard.errors import ConfigError
    from libra_guard.lifecycle.drift import DriftLimits, compare
    from libra_guard.lifecycle.drift_report import log_drift_report, write_drift_report
    from libra_guard.lifecycle.traffic import (
        captured_traffic,
        champion_evaluation,
        evaluation_traffic,
    )

    settings = load_settings(config)
    try:
        last = date.fromisoformat(until) if until else datetime.now(UTC).date()
        limits = DriftLimits(psi_max=psi_max, p_value_max=p_value_max, min_items=min_items)
    except ValueError as exc:
        raise ConfigError(f"bad drift option: {exc}") from exc
    first = last - timedelta(days=days - 1)
    current = captured_traffic(capture, since=first, until=last, settings=settings)
    with tempfile.TemporaryDirectory(prefix="libra-drift-") as work:
        folder = reference or champion_evaluation(
            model, Path(work) / "reference", tracking_uri=settings.tracking_uri
        )
        baseline = evaluation_traffic(folder, reference_data, threshold=current.threshold)
        result = compare(baseline, current, limits)
        title = f"{model if reference is None else reference} vs {capture} ({first}..{last})"
        paths = write_drift_report(result, baseline, current, out or Path(work) / "report", title)
        run_id = log_drift_report(
            result,
            paths,
            {"libra.drift.capture": capture, "libra.drift.window": f"{first}..{last}"},
            settings.tracking_uri,
        )
        console.print(paths["markdown"].read_text(encoding="utf-8"), markup=False)
    console.print(f"logged to MLflow run {run_id} (experiment libra-guard-monitoring)")
    if result.outcome == "drift":
        raise typer.Exit(code=EXIT_DRIFT)
    if result.outcome == "inconclusive":
        raise typer.Exit(code=EXIT_INCONCLUSIVE)
