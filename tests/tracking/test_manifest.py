"""Weights that are what was registered: one changed byte in a stored weight file is refused
by every path that loads a registered version (download, serve, gate, rollout, eval)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kfp.dsl import Artifact, Dataset, Markdown
from typer.testing import CliRunner

from components.gate import gate
from libra_guard.cli.main import app
from libra_guard.data.io import write_jsonl
from libra_guard.tracking.manifest import MANIFEST_TAG, WeightsMismatchError, build_manifest
from libra_guard.tracking.registry import (
    CHAMPION,
    download_model,
    log_and_register,
    set_alias,
)
from libra_guard.tracking.store import client
from serving.model_source import load_source
from tests.components.conftest import artifact, write_evaluation
from tests.tracking.conftest import corpus_rows

WEIGHTS = "model.safetensors"


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _stored_weights(root: Path) -> Path:
    """The weight file inside the artifact store (``mlartifacts`` beside the database)."""
    found = [p for p in (root / "mlartifacts").rglob(WEIGHTS) if p.is_file()]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def registered(tiny_guard, tracking_uri, tmp_path, monkeypatch) -> str:
    """Version 1 registered and champion; every step's environment points at this store."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.setenv("LIBRA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("LIBRA_RAY_ADDRESS", raising=False)
    version = log_and_register(tiny_guard, {"base_model": "tiny"}, tracking_uri=tracking_uri)
    set_alias(version.version, CHAMPION, tracking_uri=tracking_uri)
    return version.version


def test_registration_records_a_sha256_of_every_file(registered, tiny_guard, tracking_uri):
    tags = client(tracking_uri).get_model_version("libra-guard", registered).tags
    recorded = json.loads(tags[MANIFEST_TAG])
    assert recorded == build_manifest(tiny_guard).files
    assert WEIGHTS in recorded and "config.json" in recorded and "libra_guard.json" in recorded


def test_an_intact_copy_loads_and_a_changed_kept_copy_is_refused(registered, tmp_path):
    folder = download_model("models:/libra-guard@champion", tmp_path / "cache")
    assert (folder / WEIGHTS).is_file()
    _flip_one_byte(folder / WEIGHTS)
    with pytest.raises(WeightsMismatchError, match=f"changed: {WEIGHTS}"):
        download_model("models:/libra-guard@champion", tmp_path / "cache")
    (folder / "extra.bin").write_bytes(b"x")
    (folder / WEIGHTS).unlink()
    with pytest.raises(WeightsMismatchError, match=r"missing: model\.safetensors.*unexpected"):
        download_model("models:/libra-guard/1", tmp_path / "cache")


def test_a_version_without_manifest_is_refused(registered, tracking_uri, tmp_path):
    client(tracking_uri).delete_model_version_tag("libra-guard", registered, MANIFEST_TAG)
    with pytest.raises(WeightsMismatchError, match="no sha256 manifest"):
        download_model("models:/libra-guard/1", tmp_path / "cache")
    assert not (tmp_path / "cache" / "libra-guard").exists() or not any(
        (tmp_path / "cache" / "libra-guard").iterdir()
    )


def test_every_load_path_refuses_a_changed_stored_weight_file(registered, tmp_path):
    _flip_one_byte(_stored_weights(tmp_path))
    expected = f"does not match the sha256 manifest.*changed: {WEIGHTS}"

    # download: nothing unverified is kept in the cache
    with pytest.raises(WeightsMismatchError, match=expected):
        download_model("models:/libra-guard@champion", tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob(WEIGHTS))

    # serve (each replica resolves the registry URI on its own node)
    with pytest.raises(WeightsMismatchError, match=expected):
        load_source("models:/libra-guard@champion")

    # the gate's re-evaluation of the champion
    write_jsonl(corpus_rows(), tmp_path / "test.jsonl")
    with pytest.raises(WeightsMismatchError, match=expected):
        gate.python_func(
            test_data=artifact(Dataset, tmp_path / "test.jsonl"),
            evaluation=artifact(Dataset, write_evaluation(tmp_path / "eval", [True] * 4)),
            gate_thresholds={},
            report=artifact(Markdown, tmp_path / "out" / "report"),
            decision=artifact(Artifact, tmp_path / "out" / "decision"),
            experiment="gate-test",
            pipeline_run="run-1",
        )

    # the rollout downloads nothing in the driver: its replicas load the pinned registry URI
    # with load_source (checked above), so they refuse the changed weights on their nodes.

    # eval --model models:/...
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--model",
            "models:/libra-guard@champion",
            "--data",
            str(tmp_path / "test.jsonl"),
            "--out",
            str(tmp_path / "eval-out"),
        ],
    )
    assert result.exit_code != 0
    assert "does not match the sha256 manifest" in " ".join(result.output.split())
    assert not (tmp_path / "eval-out" / "metrics.json").exists()
