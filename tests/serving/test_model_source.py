"""What the service reports about a registry version, and a folder that is not a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from libra_guard.errors import ModelError
from libra_guard.tracking import registry
from serving.model_source import resolve_model


def test_a_registry_uri_resolves_to_its_folder_version_aliases_and_lineage(
    tiny_guard: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("LIBRA_STATE_DIR", str(tmp_path / "state"))
    registry.log_and_register(
        tiny_guard, {"dataset_digests": {"test": "d" * 64}}, tracking_uri=tracking_uri
    )
    resolved = resolve_model("models:/libra-guard@challenger", tracking_uri=tracking_uri)
    assert (resolved.folder / "config.json").is_file()
    described = resolved.description
    assert (described.name, described.version, described.aliases) == (
        "libra-guard",
        "1",
        ["challenger"],
    )
    assert described.lineage["dataset_digests"] == {"test": "d" * 64}
    with pytest.raises(ModelError, match="no version with alias 'champion'"):
        resolve_model("models:/libra-guard@champion", tracking_uri=tracking_uri)


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a model folder"):
        resolve_model(str(tmp_path))
