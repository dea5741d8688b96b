"""``libra-guard models``: base models for clusters without internet (mirrored into MinIO)."""

from __future__ import annotations

import typer

from libra_guard.cli.errors import handle_errors
from libra_guard.settings import load_settings

app = typer.Typer(help="Base models: mirror a hub model or folder into MinIO (s3://).")


@app.command("import")
@handle_errors
def import_command(
    source: str = typer.Argument(..., help="A local model folder or a hub id (ORG/NAME)."),
    destination: str = typer.Argument(..., help="The s3:// prefix to mirror it to (MinIO)."),
) -> None:
    """Upload every file of SOURCE under DESTINATION with a sha256 manifest (written last).

    Train from it with --preset s3://...: each node downloads it once, checks every file
    against the manifest and caches it under LIBRA_STATE_DIR/models/bases.
    """
    from libra_guard.modeling.base_models import import_model

    outcome = import_model(source, destination, load_settings(None), log=typer.echo)
    typer.echo(
        f"imported {outcome.files} files ({outcome.bytes / 1e9:.2f} GB) to {outcome.destination}"
    )
