"""Tracking URI, experiment locations and the scoped fluent URI."""

from __future__ import annotations

import os

import mlflow
import pytest

from libra_guard.errors import ConfigError
from libra_guard.tracking.store import (
    client,
    default_artifact_root,
    ensure_experiment,
    resolve_tracking_uri,
    tracking_to,
)


def test_sqlite_store_gets_artifacts_beside_it(tmp_path):
    uri = f"sqlite:///{tmp_path}/state/mlflow.db"
    assert resolve_tracking_uri(uri) == uri
    assert (tmp_path / "state").is_dir()
    assert default_artifact_root(uri) == str(tmp_path / "state" / "mlartifacts")
    assert default_artifact_root("http://mlflow:5000") is None


def test_default_uri_comes_from_the_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("LIBRA_STATE_DIR", str(tmp_path))
    assert resolve_tracking_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_experiments_are_created_once_with_an_explicit_location(tracking_uri, tmp_path):
    first = ensure_experiment("pipeline-a", tracking_uri=tracking_uri)
    assert ensure_experiment("pipeline-a", tracking_uri=tracking_uri) == first
    experiment = client(tracking_uri).get_experiment(first)
    assert experiment.artifact_location == str(tmp_path / "mlartifacts" / "pipeline-a")


def test_a_deleted_experiment_is_a_config_error(tracking_uri):
    experiment_id = ensure_experiment("gone", tracking_uri=tracking_uri)
    client(tracking_uri).delete_experiment(experiment_id)
    with pytest.raises(ConfigError, match="'gone' is deleted"):
        ensure_experiment("gone", tracking_uri=tracking_uri)


def test_tracking_to_restores_the_users_uri_and_environment(monkeypatch, tracking_uri):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/mlflow.db")
    before = mlflow.get_tracking_uri()
    with tracking_to(tracking_uri):
        assert mlflow.get_tracking_uri() == tracking_uri
    assert os.environ["MLFLOW_TRACKING_URI"] == "sqlite:////elsewhere/mlflow.db"
    assert mlflow.get_tracking_uri() == before
