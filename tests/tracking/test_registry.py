"""Registration, aliases, download by alias and lineage, on a SQLite store under tmp_path."""

from __future__ import annotations

import shutil
import time

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from libra_guard.errors import ModelError
from libra_guard.modeling.judge import GuardJudge
from libra_guard.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAME,
    alias_version,
    describe,
    download_model,
    log_and_register,
    set_alias,
)
from libra_guard.tracking.runs import stage_run_id, start_pipeline_run
from libra_guard.tracking.store import tracking_to
from tests.tracking.conftest import PAIRS

LINEAGE = {
    "dataset_digests": {"stage1": "1" * 64, "stage2": "2" * 64, "test": "3" * 64},
    "pipeline_run_id": "pipeline-run-7",
    "checkpoint_uri": "s3://libra/runs/7/model/final",
    "git_commit": "0" * 40,
    "base_model": "tiny",
    "gate_decision": "pass: no champion yet: the thresholds alone decide",
}


def test_register_download_by_alias_and_score_identically(
    tiny_guard, tracking_uri, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    started = time.perf_counter()
    registered = log_and_register(tiny_guard, LINEAGE, tracking_uri=tracking_uri)
    log_seconds = time.perf_counter() - started
    assert registered.name == MODEL_NAME
    assert registered.version == "1"
    assert registered.uri == "models:/libra-guard/1"
    assert alias_version(CHALLENGER, tracking_uri=tracking_uri) == "1"
    assert alias_version(CHAMPION, tracking_uri=tracking_uri) is None

    set_alias(registered.version, CHAMPION, tracking_uri=tracking_uri)
    started = time.perf_counter()
    folder = download_model(
        "models:/libra-guard@champion", tmp_path / "cache", tracking_uri=tracking_uri
    )
    judge = GuardJudge.load(folder, device="cpu")
    load_seconds = time.perf_counter() - started
    original = GuardJudge.load(tiny_guard, device="cpu")
    assert judge.verdict_scores(PAIRS) == original.verdict_scores(PAIRS)
    assert folder != tiny_guard
    again = download_model("champion", tmp_path / "cache", tracking_uri=tracking_uri)
    assert again == folder
    cached = f"1-{registered.run_id[:12]}"
    assert again == tmp_path / "cache" / MODEL_NAME / cached / "artifacts" / tiny_guard.name
    assert (folder / "model.safetensors").read_bytes() == (
        tiny_guard / "model.safetensors"
    ).read_bytes()
    print(f"log+register {log_seconds:.2f}s, download+load {load_seconds:.2f}s")


def test_version_one_of_another_registry_is_not_served_from_the_cache(
    tiny_guard, tracking_uri, empty_store, tmp_path
):
    # Two registries (a recreated database, another server) both have a version 1; the
    # download cache must not hand the first one's model out for the second.
    other_db = tmp_path / "other" / "mlflow.db"
    other_db.parent.mkdir()
    shutil.copyfile(empty_store, other_db)
    other_uri = f"sqlite:///{other_db}"
    log_and_register(tiny_guard, LINEAGE, tracking_uri=tracking_uri)
    log_and_register(tiny_guard, LINEAGE, tracking_uri=other_uri)
    first = download_model("1", tmp_path / "cache", tracking_uri=tracking_uri)
    second = download_model("1", tmp_path / "cache", tracking_uri=other_uri)
    assert first != second
    assert describe("1", tracking_uri=other_uri).lineage["run_id"][:12] in second.parent.parent.name


def test_second_version_leaves_champion_until_moved(tiny_guard, tracking_uri):
    first = log_and_register(tiny_guard, LINEAGE, tracking_uri=tracking_uri)
    set_alias(first.version, CHAMPION, tracking_uri=tracking_uri)
    second = log_and_register(tiny_guard, LINEAGE, tracking_uri=tracking_uri)
    assert second.version == "2"
    assert alias_version(CHAMPION, tracking_uri=tracking_uri) == "1"
    assert alias_version(CHALLENGER, tracking_uri=tracking_uri) == "2"
    set_alias(second.version, CHAMPION, tracking_uri=tracking_uri)
    assert alias_version(CHAMPION, tracking_uri=tracking_uri) == "2"
    assert describe(first.version, tracking_uri=tracking_uri).aliases == ()
    assert describe(CHAMPION, tracking_uri=tracking_uri).aliases == (CHALLENGER, CHAMPION)


def test_lineage_tags_round_trip(tiny_guard, tracking_uri):
    registered = log_and_register(tiny_guard, LINEAGE, tracking_uri=tracking_uri)
    described = describe(registered.version, tracking_uri=tracking_uri)
    for key, value in LINEAGE.items():
        assert described.lineage[key] == value
    assert described.version == "1"
    assert described.aliases == (CHALLENGER,)
    assert described.run_id == registered.run_id
    assert describe("models:/libra-guard/1", tracking_uri=tracking_uri) == described


def test_missing_lineage_is_filled_from_the_model_folder(tiny_guard, tracking_uri):
    registered = log_and_register(tiny_guard, {"pipeline_run_id": "p-1"}, tracking_uri=tracking_uri)
    chain = describe(registered.version, tracking_uri=tracking_uri).lineage
    assert chain["base_model"] == "tiny"
    assert chain["dataset_digests"] == {"stage1": "a" * 64, "stage2": "b" * 64}
    assert chain["checkpoint_uri"] == str(tiny_guard.resolve())
    assert chain["git_commit"]


def test_alias_of_an_empty_registry_is_none_and_unknown_versions_are_model_errors(
    tracking_uri, tmp_path
):
    assert alias_version(CHAMPION, tracking_uri=tracking_uri) is None
    with pytest.raises(ModelError, match="no version with alias 'champion'"):
        download_model("models:/libra-guard@champion", tmp_path, tracking_uri=tracking_uri)
    with pytest.raises(ModelError, match="libra-guard v9"):
        set_alias("9", CHAMPION, tracking_uri=tracking_uri)


def test_a_folder_without_a_model_is_refused(tmp_path, tracking_uri):
    with pytest.raises(ModelError, match="not a model folder"):
        log_and_register(tmp_path, LINEAGE, tracking_uri=tracking_uri)


def test_registered_in_a_pipeline_stage_run_and_served_as_pyfunc(tiny_guard, tracking_uri):
    parent = start_pipeline_run("kfp-9", tracking_uri=tracking_uri)
    stage = stage_run_id(parent, "register_guard", tracking_uri=tracking_uri)
    registered = log_and_register(tiny_guard, LINEAGE, run_id=stage, tracking_uri=tracking_uri)
    assert registered.run_id == stage
    client = MlflowClient(tracking_uri=tracking_uri)
    assert client.get_run(stage).data.tags["libra.registered_version"] == "libra-guard/1"
    assert client.get_run(stage).info.status == "RUNNING"
    assert client.get_run(parent).info.status == "RUNNING"

    with tracking_to(tracking_uri):
        served = mlflow.pyfunc.load_model("models:/libra-guard@challenger")
    frame = pd.DataFrame({"question": [q for q, _ in PAIRS], "response": [r for _, r in PAIRS]})
    result = served.predict(frame)
    expected = GuardJudge.load(tiny_guard, device="cpu").verdict_scores(PAIRS)
    assert result["score"].tolist() == pytest.approx(expected, abs=1e-6)
    assert set(result["verdict"]) <= {"安全", "不安全"}
