"""The training stage's RayJob manifest: valid for KubeRay v1.7's CRD schema, named from the
stage key, wired to the pipeline's Secret and ConfigMap, locked down. No API server is
involved here; the follow tests use ``fake_kube``, a stand-in for a real one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from libra_guard.errors import ConfigError
from libra_guard.kube.rayjob import MAX_NAME_LENGTH, build_rayjob, rayjob_name
from libra_guard.kube.wiring import RAYJOB_PODS_ENV, PodResources, RayJobPods

SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "schemas" / "ray.io" / "rayjob_v1.json"
KEY = "0123456789abcdef01234567"


def _manifest(**overrides) -> dict:
    arguments = {
        "name": rayjob_name("stage1", KEY),
        "namespace": "ml",
        "stage": "stage1",
        "key": KEY,
        "spec_uri": "s3://artifacts/stage-work/k/spec.json",
        "image": "registry.local/libra-guard:1.2.3",
        "num_workers": 2,
        "use_gpu": False,
        "timeout_s": 3600,
        "pods": RayJobPods(worker=PodResources(cpu_request="3", memory_limit="20G")),
    }
    return build_rayjob(**{**arguments, **overrides})


@pytest.fixture(scope="module")
def validator():
    if not SCHEMA.is_file():
        pytest.skip(f"the RayJob schema {SCHEMA} is absent (it lives in ../shared/schemas)")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("use_gpu", [False, True])
def test_manifest_is_valid_for_the_kuberay_crd(validator, use_gpu: bool) -> None:
    errors = [error.message for error in validator.iter_errors(_manifest(use_gpu=use_gpu))]
    assert errors == []


def test_the_schema_check_catches_a_misplaced_field(validator) -> None:
    manifest = _manifest()
    manifest["spec"]["rayClusterSpec"]["headGroupSpec"]["replicas"] = 1  # heads have none
    assert list(validator.iter_errors(manifest))


def test_name_is_stable_per_stage_key_and_a_valid_label() -> None:
    name = rayjob_name("stage1", KEY)
    assert name == rayjob_name("stage1", KEY)
    assert name != rayjob_name("stage2", KEY)
    assert name != rayjob_name("stage1", "f" * 24)
    assert len(name) <= MAX_NAME_LENGTH
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)


def test_job_runs_the_stage_entrypoint_once_within_the_timeout() -> None:
    spec = _manifest(timeout_s=5400)["spec"]
    assert spec["entrypoint"] == (
        "python -m libra_guard.training.stage_job --spec s3://artifacts/stage-work/k/spec.json"
    )
    assert spec["submissionMode"] == "HTTPMode"
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 5400
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["ttlSecondsAfterFinished"] > 0
    assert spec["jobId"] == rayjob_name("stage1", KEY)


def test_workers_get_the_configured_resources_and_gpus() -> None:
    cluster = _manifest(use_gpu=True)["spec"]["rayClusterSpec"]
    (group,) = cluster["workerGroupSpecs"]
    assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] == 2
    pod = group["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["requests"]["cpu"] == "3"
    assert resources["limits"]["memory"] == "20G"
    assert resources["limits"]["nvidia.com/gpu"] == 1
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    head = cluster["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"  # no training on the head
    assert "nvidia.com/gpu" not in head["template"]["spec"]["containers"][0]["resources"]["limits"]
    cpu_only = _manifest(use_gpu=False)["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    assert (
        "nvidia.com/gpu" not in cpu_only["template"]["spec"]["containers"][0]["resources"]["limits"]
    )


def test_pods_read_credentials_by_reference_and_join_no_other_cluster() -> None:
    cluster = _manifest()["spec"]["rayClusterSpec"]
    for template in (
        cluster["headGroupSpec"]["template"],
        cluster["workerGroupSpecs"][0]["template"],
    ):
        env = {item["name"]: item for item in template["spec"]["containers"][0]["env"]}
        access = env["LIBRA_S3_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
        assert access == {
            "name": "libra-guard-credentials",
            "key": "s3_access_key",
            "optional": True,
        }
        # The driver registers the model in MLflow, whose basic-auth app refuses anonymous calls.
        password = env["MLFLOW_TRACKING_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": "libra-mlflow-auth", "key": "password", "optional": True}
        endpoint = env["LIBRA_S3_ENDPOINT"]["valueFrom"]["configMapKeyRef"]
        assert endpoint["name"] == "libra-guard-config"
        assert "LIBRA_RAY_ADDRESS" not in env  # the job runs on its own cluster
        assert "LIBRA_TRAINING_BACKEND" not in env  # and trains there, not in another RayJob
        assert all(
            "value" not in item or name in {"HOME", "RAY_TRAIN_ENABLE_PRINT_PATCH"}
            for name, item in env.items()
        )


def test_pods_run_locked_down() -> None:
    cluster = _manifest()["spec"]["rayClusterSpec"]
    for template in (
        cluster["headGroupSpec"]["template"],
        cluster["workerGroupSpecs"][0]["template"],
    ):
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        container = pod["containers"][0]
        assert container["image"] == "registry.local/libra-guard:1.2.3"
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert {mount["mountPath"] for mount in container["volumeMounts"]} == {"/tmp", "/dev/shm"}


def test_pod_config_round_trips_through_the_environment(monkeypatch) -> None:
    pods = RayJobPods(image="img:7", worker=PodResources(cpu_limit="9"))
    monkeypatch.setenv(RAYJOB_PODS_ENV, pods.to_env_value())
    assert RayJobPods.from_env() == pods
    monkeypatch.setenv(RAYJOB_PODS_ENV, '{"image": 3}')
    with pytest.raises(ConfigError, match="libra-guard compile"):
        RayJobPods.from_env()


def test_scratch_volumes_are_bounded_and_pods_pass_the_restricted_standard() -> None:
    cluster = _manifest(use_gpu=True)["spec"]["rayClusterSpec"]
    templates = [cluster["headGroupSpec"]["template"]] + [
        group["template"] for group in cluster["workerGroupSpecs"]
    ]
    for template in templates:
        spec = template["spec"]
        for volume in spec["volumes"]:
            assert volume["emptyDir"].get("sizeLimit"), volume
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert context["runAsNonRoot"] is True
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_the_cluster_requires_the_platform_token() -> None:
    cluster = _manifest()["spec"]["rayClusterSpec"]
    assert cluster["authOptions"] == {"mode": "token", "secretName": "libra-ray-token"}
    pods = RayJobPods.model_validate({"wiring": {"ray_token_secret_name": ""}})
    assert "authOptions" not in _manifest(pods=pods)["spec"]["rayClusterSpec"]
