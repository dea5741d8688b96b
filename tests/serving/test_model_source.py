"""Which model to serve: the driver reads the registry and downloads nothing; each replica
resolves the pinned registry URI on its own node, into its own cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from libra_guard.errors import ModelError
from libra_guard.tracking import registry
from serving.config import ServingConfig
from serving.model_source import load_source, target_of


def test_a_registry_uri_becomes_a_pinned_target_without_a_download(
    tiny_guard: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("LIBRA_STATE_DIR", str(tmp_path / "state"))
    registry.log_and_register(
        tiny_guard, {"dataset_digests": {"test": "d" * 64}}, tracking_uri=tracking_uri
    )
    target = target_of("models:/libra-guard@challenger", tracking_uri=tracking_uri)
    # Pinned: the alias may move later, the replicas must load this version.
    assert target.source == "models:/libra-guard/1"
    assert (target.name, target.version, target.aliases) == ("libra-guard", "1", ("challenger",))
    assert target.model.lineage["dataset_digests"] == {"test": "d" * 64}
    assert not (tmp_path / "state" / "models").exists()
    folder = load_source(target.source, tracking_uri=tracking_uri)
    assert (folder / "config.json").is_file()
    assert (tmp_path / "state" / "models") in folder.parents
    with pytest.raises(ModelError, match="no version with alias 'champion'"):
        target_of("models:/libra-guard@champion", tracking_uri=tracking_uri)


def test_an_unregistered_folder_travels_as_its_path(tiny_guard: Path) -> None:
    target = target_of(str(tiny_guard))
    assert target.source == str(tiny_guard.resolve())
    assert not target.model.registered


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a model folder"):
        target_of(str(tmp_path))


@pytest.mark.slow
def test_a_replica_resolves_the_registry_uri_on_its_own_node(
    ray_address: str, tiny_guard: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replica's node has another cache root than the driver (as a remote node of
    ``LIBRA_RAY_ADDRESS`` would): the version must land there, and nothing on the driver."""
    from ray import serve

    from libra_guard.training.ray_runtime import free_port
    from serving.rollout.base import roll_out
    from serving.rollout.local import LocalServeRollout

    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    driver_state, node_state = tmp_path / "driver", tmp_path / "node"
    monkeypatch.setenv("LIBRA_STATE_DIR", str(driver_state))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    registry.log_and_register(tiny_guard, {"dataset_digests": {"test": "e" * 64}})
    target = target_of("models:/libra-guard@challenger")
    node_env = {"MLFLOW_TRACKING_URI": tracking_uri, "LIBRA_STATE_DIR": str(node_state)}
    config = ServingConfig(model_num_cpus=0.25, constructor_retries=1)
    rollout = LocalServeRollout(config, port=free_port(), replica_env=node_env)
    try:
        rollout.start_serve()
        result = roll_out(rollout, target, [])
        assert result.served, result.reason
        served = requests.get(f"{rollout.url}/v1/model", timeout=60).json()
    finally:
        serve.shutdown()
    assert served["version"] == "1" and served["aliases"] == ["challenger"]
    assert served["lineage"]["dataset_digests"] == {"test": "e" * 64}
    # /v1/model shows no local path (an allow-list of lineage fields): the version's folder
    # under the replica's own cache root shows where it was resolved.
    assert "source" not in served
    assert any((node_state / "models").rglob("model.safetensors"))
    assert not (driver_state / "models").exists()
