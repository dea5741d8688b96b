"""Where MLflow keeps runs, models and artifacts, and how this process talks to it.

The tracking URI is ``Settings().tracking_uri`` (``MLFLOW_TRACKING_URI``, else a SQLite file
under the state folder) unless a call names one. With a SQLite store MLflow would put
artifacts in ``./mlruns`` relative to whatever folder the process runs in, so every
experiment created here gets an explicit artifact location: ``mlartifacts/<experiment>``
beside the SQLite file. A tracking server (``http://...``) keeps its own artifact root.

Every function takes the tracking URI explicitly, so pipeline steps running in separate
processes need no shared global state; only MLflow's fluent model logging needs the
process-wide URI, and ``tracking_to`` sets it for the duration of one call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from libra_guard.errors import ConfigError
from libra_guard.settings import Settings

ARTIFACTS_FOLDER = "mlartifacts"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The tracking URI to use; a SQLite file's folder is created so MLflow can open it."""
    uri = tracking_uri or Settings().tracking_uri
    database = sqlite_path(uri)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    return uri


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else ``None``."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme != "sqlite":
        return None
    return Path(unquote(parsed.path))


def default_artifact_root(tracking_uri: str) -> str | None:
    """``mlartifacts`` beside a SQLite file; ``None`` (MLflow decides) for anything else."""
    database = sqlite_path(tracking_uri)
    if database is None:
        return None
    return str((database.parent / ARTIFACTS_FOLDER).resolve())


def client(tracking_uri: str | None = None):
    """An ``MlflowClient`` on the tracking store (the registry lives in the same store)."""
    from mlflow import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(
    name: str, *, tracking_uri: str | None = None, artifact_root: str | None = None
) -> str:
    """The id of experiment ``name``, created with an explicit artifact location if new.

    Two pipeline steps may race to create it; the loser reads the winner's.

    Raises:
        ConfigError: the experiment exists but was deleted (restore or purge it first).
    """
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(tracking_uri)
    mlflow_client = client(uri)
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is None:
        root = artifact_root or default_artifact_root(uri)
        location = f"{root.rstrip('/')}/{name}" if root else None
        try:
            return mlflow_client.create_experiment(name, artifact_location=location)
        except MlflowException:
            experiment = mlflow_client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        raise ConfigError(
            f"MLflow experiment {name!r} is deleted in {uri}; restore it "
            f"(mlflow experiments restore --experiment-id {experiment.experiment_id}) "
            "or choose another experiment name"
        )
    return experiment.experiment_id


@contextmanager
def tracking_to(tracking_uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at ``tracking_uri`` for the block, then restore it."""
    import mlflow
    from mlflow.tracking._tracking_service import utils

    # MLflow keeps "never set" as None (then it reads MLFLOW_TRACKING_URI), and
    # set_tracking_uri also writes (or, for None, deletes) that variable; both are put back
    # as they were, so a user's MLFLOW_TRACKING_URI survives the block.
    previous = getattr(utils, "_tracking_uri", None)
    previous_env = os.environ.get(TRACKING_URI_ENV)
    mlflow.set_tracking_uri(tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if previous_env is None:
            os.environ.pop(TRACKING_URI_ENV, None)
        else:
            os.environ[TRACKING_URI_ENV] = previous_env
