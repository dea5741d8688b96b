"""The cluster variant ``libra-guard submit`` compiles and starts: image, service account,
the ConfigMap keys of cluster mode, and what training tasks hand their RayJobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from typer.testing import CliRunner

from libra_guard.cli.main import app
from libra_guard.kube.wiring import RAYJOB_PODS_ENV, RayJobPods
from pipelines.config import PipelineConfig
from pipelines.libra_guard_pipeline import compile_pipeline


def _documents(compiled: Path) -> list[dict]:
    return list(yaml.safe_load_all(compiled.read_text(encoding="utf-8")))


def _task_env(spec: dict, executor: str) -> dict[str, str]:
    container = spec["deploymentSpec"]["executors"][executor]["container"]
    return {item["name"]: item["value"] for item in container.get("env", [])}


def test_training_tasks_tell_their_rayjobs_the_image_wiring_and_resources(tmp_path) -> None:
    config = PipelineConfig.model_validate(
        {
            "image": "registry.local/libra-guard:2.0.0",
            "resources": {"cpu_limit": "6"},
            "cluster": {"secret_name": "s3-creds"},
        }
    )
    spec, platform = _documents(compile_pipeline(tmp_path / "p.yaml", config.options()))
    for executor in ("exec-pretrain-guard", "exec-finetune-guard"):
        pods = RayJobPods.model_validate_json(_task_env(spec, executor)[RAYJOB_PODS_ENV])
        assert pods.image == "registry.local/libra-guard:2.0.0"
        assert pods.wiring.secret_name == "s3-creds"
        assert pods.worker.cpu_limit == "6"
    assert RAYJOB_PODS_ENV not in _task_env(spec, "exec-gate")
    config_map = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"][
        "exec-pretrain-guard"
    ]["configMapAsEnv"][0]
    variables = {item["envVar"] for item in config_map["keyToEnv"]}
    assert {
        "LIBRA_TRAINING_BACKEND",
        "LIBRA_SERVING_BACKEND",
        "LIBRA_KUBE_NAMESPACE",
        "LIBRA_ARTIFACT_ROOT",
        "LIBRA_RAYJOB_IMAGE",
        "LIBRA_RAYSERVICE_NAME",
        "LIBRA_GUARD_URL",
    } <= variables


def test_local_variant_passes_nothing_to_rayjobs(tmp_path) -> None:
    options = PipelineConfig().options(cluster=False)
    spec = _documents(compile_pipeline(tmp_path / "local.yaml", options))[0]
    assert RAYJOB_PODS_ENV not in _task_env(spec, "exec-pretrain-guard")


class _RecordingClient:
    """Stands in for ``kfp.Client``: records the run it is asked to create."""

    calls: ClassVar[list[dict]] = []

    def __init__(self, host: str) -> None:
        self.host = host

    def create_run_from_pipeline_package(self, package: str, **kwargs):
        spec = _documents(Path(package))[0]
        kwargs["images"] = {
            executor["container"]["image"]
            for executor in spec["deploymentSpec"]["executors"].values()
        }
        kwargs["pods"] = json.loads(_task_env(spec, "exec-pretrain-guard")[RAYJOB_PODS_ENV])
        _RecordingClient.calls.append(kwargs)

        class Result:
            run_id = "run-42"

        return Result()


@pytest.fixture
def kfp_client(monkeypatch: pytest.MonkeyPatch) -> type[_RecordingClient]:
    import kfp

    _RecordingClient.calls = []
    monkeypatch.setattr(kfp, "Client", _RecordingClient)
    return _RecordingClient


def test_submit_runs_as_the_pipeline_service_account_by_default(kfp_client) -> None:
    result = CliRunner().invoke(app, ["submit", "--host", "http://kfp.local"])
    assert result.exit_code == 0, result.output
    (call,) = kfp_client.calls
    assert call["service_account"] == "libra-pipeline"
    assert "run-42" in result.output


def test_submit_image_and_service_account_flags_win(kfp_client) -> None:
    result = CliRunner().invoke(
        app,
        [
            "submit",
            "--host",
            "http://kfp.local",
            "--image",
            "registry.local/libra-guard:3.1.4",
            "--service-account",
            "guard-trainer",
        ],
    )
    assert result.exit_code == 0, result.output
    (call,) = kfp_client.calls
    assert call["service_account"] == "guard-trainer"
    assert call["images"] == {"registry.local/libra-guard:3.1.4"}
    assert call["pods"]["image"] == "registry.local/libra-guard:3.1.4"
