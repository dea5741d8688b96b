"""``libra-guard lineage | ui``: read the MLflow model registry and serve its UI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console

from libra_guard.cli.errors import handle_errors
from libra_guard.errors import ConfigError
from libra_guard.settings import load_settings

console = Console()


@handle_errors
def lineage(
    version: str = typer.Argument(..., help="Model version number, or an alias (champion)."),
    config: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False, help="Config YAML with a settings: block."
    ),
) -> None:
    """Print where a registered libra-guard version came from: gate decision, runs,
    checkpoint, base model, git commit and dataset digests."""
    from libra_guard.tracking.lineage import format_lineage
    from libra_guard.tracking.registry import describe

    settings = load_settings(config)
    described = describe(version, tracking_uri=settings.tracking_uri)
    console.print(format_lineage(described), markup=False, highlight=False, soft_wrap=True)


@handle_errors
def ui(
    port: int = typer.Option(5000, "--port", min=1, max=65535, help="Port to serve on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    config: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False, help="Config YAML with a settings: block."
    ),
) -> None:
    """Serve the MLflow UI on the local tracking store (foreground; Ctrl-C stops it)."""
    settings = load_settings(config)
    command = mlflow_ui_command(settings.tracking_uri, host, port)
    console.print(f"MLflow UI on http://{host}:{port} for {settings.tracking_uri}")
    try:
        completed = subprocess.run(command, check=False)
    except OSError as exc:
        raise ConfigError(f"cannot start the MLflow UI ({command[0]}): {exc}") from exc
    if completed.returncode not in (0, -2, 130):
        raise ConfigError(f"the MLflow UI exited with code {completed.returncode}; see above")


def mlflow_ui_command(tracking_uri: str, host: str, port: int) -> list[str]:
    """``mlflow ui`` on ``tracking_uri``, from this environment's mlflow."""
    from libra_guard.tracking.store import default_artifact_root

    executable = Path(sys.executable).with_name("mlflow")
    mlflow = str(executable) if executable.is_file() else shutil.which("mlflow") or "mlflow"
    command = [mlflow, "ui", "--backend-store-uri", tracking_uri]
    artifact_root = default_artifact_root(tracking_uri)
    if artifact_root:
        command += ["--default-artifact-root", artifact_root]
    return [*command, "--host", host, "--port", str(port)]
