"""Entry point of ``libra-guard``: one sub-command group or command per module."""

from __future__ import annotations

import typer

from libra_guard.cli import data as data_commands
from libra_guard.cli import demo as demo_commands
from libra_guard.cli import evaluate as eval_commands
from libra_guard.cli import feedback as feedback_commands
from libra_guard.cli import models as model_commands
from libra_guard.cli import monitor as monitor_commands
from libra_guard.cli import pipeline as pipeline_commands
from libra_guard.cli import registry as registry_commands
from libra_guard.cli import serve as serve_commands
from libra_guard.cli import train as train_commands

app = typer.Typer(
    name="libra-guard",
    help=(
        "Libra-Guard platform: prepare data, train a Chinese content-safety guard with a "
        "two-stage curriculum on Ray, and evaluate it with the Libra-Test protocol."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_commands.app, name="data")
app.add_typer(model_commands.app, name="models")
app.add_typer(monitor_commands.app, name="monitor")
app.add_typer(feedback_commands.app, name="feedback")
app.command("train")(train_commands.train)
app.command("eval")(eval_commands.evaluate)
app.command("demo")(demo_commands.demo)
app.command("compile")(pipeline_commands.compile_pipeline)
app.command("run")(pipeline_commands.run)
app.command("submit")(pipeline_commands.submit)
app.command("lineage")(registry_commands.lineage)
app.command("ui")(registry_commands.ui)
app.command("serve")(serve_commands.serve)
app.command("moderate")(serve_commands.moderate)


if __name__ == "__main__":
    app()
