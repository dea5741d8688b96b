"""``libra-guard feedback export | import``: captured decisions to reviewers and back as data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from libra_guard.cli.errors import handle_errors
from libra_guard.settings import load_settings

console = Console()
app = typer.Typer(
    help="Turn captured decisions into labelled real data for the next run.", no_args_is_help=True
)


def _day(text: str | None, option: str) -> date | None:
    from libra_guard.errors import ConfigError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{option} must be a day, YYYY-MM-DD; got {text!r}") from exc


@app.command("export")
@handle_errors
def export(
    capture: str = typer.Argument(..., help="Capture URI (s3://bucket/prefix or a folder)."),
    out: str = typer.Option(..., "--out", "-o", help="JSONL of rows to label."),
    since: str | None = typer.Option(None, "--since", help="First day, YYYY-MM-DD."),
    until: str | None = typer.Option(None, "--until", help="Last day, YYYY-MM-DD."),
    near_threshold: bool = typer.Option(
        False, "--near-threshold", help="Only items captured near the decision threshold."
    ),
    config: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False, help="Config YAML with a settings: block."
    ),
) -> None:
    """Write captured items as Libra-Test rows with an empty label (the guard's score beside)."""
    from libra_guard.lifecycle.feedback import export_for_review

    summary = export_for_review(
        capture,
        out,
        since=_day(since, "--since"),
        until=_day(until, "--until"),
        near_threshold_only=near_threshold,
        settings=load_settings(config),
    )
    console.print(
        f"{summary.rows} rows ({summary.near_threshold} near the threshold) to label in "
        f"{summary.out}: set label to 安全 or 不安全, then `libra-guard feedback import`",
        markup=False,
    )


@app.command("import")
@handle_errors
def import_(
    reviewed: str = typer.Argument(..., help="The labelled JSONL."),
    out: str = typer.Option(..., "--out", "-o", help="Where the validated source goes."),
    config: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False, help="Config YAML with a settings: block."
    ),
) -> None:
    """Validate labelled rows (unlabelled ones are quarantined) and publish them with a digest."""
    from libra_guard.lifecycle.feedback import import_reviewed

    report = import_reviewed(reviewed, out, settings=load_settings(config))
    console.print(
        f"{report.kept} rows kept, {report.quarantined} quarantined "
        f"({', '.join(f'{k}: {v}' for k, v in report.reasons.items()) or 'none'})",
        markup=False,
    )
    console.print(f"source      {report.out_path}\ndigest      {report.digest}", markup=False)
    console.print(f"quarantine  {report.quarantine_path}", markup=False)
    console.print(
        f"use it: demo.extra_real_data: [{report.out_path}] in the pipeline config", markup=False
    )
