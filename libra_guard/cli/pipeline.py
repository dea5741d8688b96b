"""``libra-guard compile | run | submit``: the pipeline's commands; they only wire options to
``pipelines`` (the DAG, the local runner, the KFP client)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer
from rich.console import Console

from libra_guard.cli.errors import handle_errors
from libra_guard.errors import ConfigError
from libra_guard.settings import load_settings

console = Console()

CONFIG_OPTION_HELP = "Pipeline config YAML (configs/pipeline.yaml); default: the demo sizes."


@handle_errors
def compile_pipeline(
    out: Path | None = typer.Option(
        None, "--out", help="Where to write the IR YAML. Default: the checked-in file."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        exists=True,
        dir_okay=False,
        help="Bake this config's image, resources and cluster wiring in (default: defaults).",
    ),
) -> None:
    """Compile the pipeline to KFP IR YAML (pipelines/libra_guard_pipeline.yaml)."""
    from pipelines.config import load_pipeline_config
    from pipelines.libra_guard_pipeline import COMPILED_YAML, compile_pipeline

    options = load_pipeline_config(config).options() if config else None
    written = compile_pipeline(out or COMPILED_YAML, options)
    console.print(f"compiled pipeline written to {written}")


@handle_errors
def run(
    config: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False, help=CONFIG_OPTION_HELP
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Stream every step's full output (KFP's) to the console."
    ),
) -> None:
    """Run the whole pipeline here with the KFP local runner, a shared local Ray head and
    MLflow on a SQLite file under the state dir.

    One line per step (status, duration, figures, log file), then the champion;
    full step logs go to STATE_DIR/runs/RUN/ (--verbose also streams them).
    A second run with unchanged inputs reuses the finished steps and says so;
    a killed run loses no finished step.
    """
    from pipelines.config import load_pipeline_config
    from pipelines.local_run import run_locally

    settings = load_settings(config)
    # Plain text, not wrapped: step lines carry paths and log tails that are no rich markup.
    plain = partial(console.print, markup=False, highlight=False, soft_wrap=True)
    result = run_locally(load_pipeline_config(config), settings, log=plain, verbose=verbose)
    if result.report is not None and result.report.is_file():
        console.rule("gate report")
        console.print(result.report.read_text(encoding="utf-8"))
        console.rule()
    if result.reused_steps:
        console.print(f"reused from cache: {', '.join(result.reused_steps)}")
    champion = result.champion_version or "none yet"
    console.print(f"champion: libra-guard version {champion}")
    if result.moderation is not None:
        answer = result.moderation
        console.print(
            f"the served champion answered one moderation call: {answer.get('label')} "
            f"(P(不安全)={answer.get('score'):.3f}); `libra-guard serve` keeps it serving"
        )
    console.print(f"MLflow parent run: {result.parent_run_id} ({settings.tracking_uri})")
    console.print(f"step outputs: {result.pipeline_root}")
    console.print(f"step logs: {result.log_dir}")
    console.print(f"finished in {result.seconds:.0f}s")


@handle_errors
def submit(
    host: str = typer.Option(..., "--host", help="URL of the KFP API, e.g. http://localhost:8080."),
    config: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False, help=CONFIG_OPTION_HELP
    ),
    experiment: str | None = typer.Option(
        None, "--experiment", help="KFP experiment. Default: the config's experiment."
    ),
    wait: bool = typer.Option(False, "--wait", help="Wait for the run to finish."),
    image: str | None = typer.Option(
        None, "--image", help="Project image (with tag) of every step. Default: the config's."
    ),
    service_account: str | None = typer.Option(
        None,
        "--service-account",
        help="ServiceAccount the run's pods use (it must be allowed to create RayJobs). "
        "Default: the config's (libra-pipeline).",
    ),
    schedule: str | None = typer.Option(
        None,
        "--schedule",
        help="Cron (e.g. '0 3 * * 1'): create a KFP recurring run instead of one run.",
    ),
) -> None:
    """Compile the cluster variant and start a run (or a recurring run) on a KFP backend."""
    from pipelines.config import load_pipeline_config
    from pipelines.submit import submit as submit_run

    pipeline_config = load_pipeline_config(config).with_overrides(
        image=image, service_account=service_account
    )
    if schedule is not None:
        from pipelines.schedule import schedule as schedule_run

        if wait:
            raise ConfigError("--wait does not apply to --schedule (a recurring run never ends)")
        scheduled = schedule_run(pipeline_config, host, schedule, experiment=experiment)
        console.print(
            f"recurring run {scheduled.recurring_run_id} ({scheduled.cron}): {scheduled.url}"
        )
        return
    submitted = submit_run(pipeline_config, host, experiment=experiment, wait=wait)
    console.print(f"run {submitted.run_id}: {submitted.url}")
    if submitted.state:
        console.print(f"finished: {submitted.state}")
