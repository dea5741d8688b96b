"""Capture in the cluster charts, rendered with Helm and checked offline: off by default (no
capture env, no capture config), refused without a Secret, and when on, every Ray container
reads the capture keys from that Secret (never from values) and the Serve config names
s3://BUCKET/PREFIX. The libra-platform chart creates the bucket, a MinIO user limited to it and
its Secret; the drift CronJob reaches MinIO and MLflow through the platform's policies."""

from __future__ import annotations

import json

import pytest
import yaml

from serving.config import ServingConfig
from tests.charts.manifests import (
    RENDER_NAMESPACE,
    by_kind,
    containers,
    render,
    render_error,
    skip_without_ray_schemas,
    validate_object,
)
from tests.charts.netpol import Pod, admits

GUARD = "libra-guard"
PLATFORM = "libra-platform"
KEY_ENV = {"LIBRA_S3_ACCESS_KEY", "LIBRA_S3_SECRET_KEY"}
ON = ["capture.enabled=true", "capture.existingSecret=guard-capture-keys"]


def ray_containers(objects: list[dict]) -> list[dict]:
    (service,) = by_kind(objects, "RayService")
    return [c for where, c, _ in containers(service) if not where.endswith("autoscaler")]


def serving_configs(objects: list[dict]) -> list[ServingConfig]:
    (service,) = by_kind(objects, "RayService")
    apps = yaml.safe_load(service["spec"]["serveConfigV2"])["applications"]
    return [ServingConfig.model_validate(app["args"]["serving"]) for app in apps]


def env_of(container: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container.get("env") or []}


def test_capture_is_off_by_default_and_no_capture_key_reaches_a_pod(helm) -> None:
    objects = render(GUARD)
    for container in ray_containers(objects):
        assert not KEY_ENV & set(env_of(container)), container["name"]
    assert all(config.capture is None for config in serving_configs(objects))
    platform = render(PLATFORM)
    assert not [s for s in by_kind(platform, "Secret") if "capture" in s["metadata"]["name"]]


def test_capture_without_a_secret_refuses_to_render(helm) -> None:
    error = render_error(GUARD, set_values=["capture.enabled=true"])
    assert "capture.enabled needs capture.existingSecret" in error


def test_capture_set_inside_serving_is_refused(helm) -> None:
    error = render_error(GUARD, set_values=["serving.capture.uri=s3://elsewhere/x"])
    assert "serving.capture is set by the chart" in error and "capture block" in error


def test_capture_on_reads_its_keys_from_the_secret_and_names_its_bucket(helm, tmp_path) -> None:
    values = tmp_path / "capture.yaml"
    values.write_text(yaml.safe_dump({"capture": {"prefix": "prod/guard", "rate": 0.2}}), "utf-8")
    objects = render(GUARD, values_files=[values], set_values=ON, cached=False)
    (service,) = by_kind(objects, "RayService")
    found = ray_containers(objects)
    assert len(found) >= 2  # head and the CPU workers
    for container in found:
        env = env_of(container)
        pairs = (("LIBRA_S3_ACCESS_KEY", "s3_access_key"), ("LIBRA_S3_SECRET_KEY", "s3_secret_key"))
        for name, key in pairs:
            assert "value" not in env[name], f"{name} must come from a Secret"
            assert env[name]["valueFrom"]["secretKeyRef"] == {
                "name": "guard-capture-keys",
                "key": key,
            }
        assert "configMapKeyRef" in env["LIBRA_S3_ENDPOINT"]["valueFrom"]
    for config in serving_configs(objects):
        assert config.capture is not None
        assert config.capture.uri == "s3://libra-captures/prod/guard"
        assert (config.capture.rate, config.capture.near_threshold_rate) == (0.2, 0.5)
        assert config.capture.max_partition_bytes == 64 * 1024 * 1024
    skip_without_ray_schemas()  # last: the checks above need no schema
    validate_object(service)


def test_platform_creates_the_capture_bucket_user_and_secret_apart_from_the_pipelines(
    helm,
) -> None:
    objects = render(PLATFORM, set_values=["capture.enabled=true"], cached=False)
    secrets = by_kind(objects, "Secret")
    (secret,) = [s for s in secrets if s["metadata"]["name"] == "libra-capture-credentials"]
    validate_object(secret)
    assert set(secret["data"]) == {"s3_access_key", "s3_secret_key"}
    (config,) = [o for o in by_kind(objects, "ConfigMap") if "buckets" in o.get("data", {})]
    assert config["data"]["capture-bucket"] == "libra-captures"
    # The pipeline's user gets the listed buckets only; the capture user its bucket only.
    assert "libra-captures" not in config["data"]["policy.json"]
    policy = json.loads(config["data"]["capture-policy.json"])
    resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
    assert resources == {"arn:aws:s3:::libra-captures", "arn:aws:s3:::libra-captures/*"}
    (job,) = [j for j in by_kind(objects, "Job") if "buckets" in j["metadata"]["name"]]
    validate_object(job)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = env_of(container)
    assert (
        env["CAPTURE_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"]
        == (secret["metadata"]["name"])
    )


def test_platform_refuses_a_capture_bucket_the_pipeline_shares(helm) -> None:
    error = render_error(PLATFORM, set_values=["capture.enabled=true", "capture.bucket=mlpipeline"])
    assert "capture.bucket" in error and "bucket of its own" in error


@pytest.mark.parametrize(("component", "port"), [("minio", 9000), ("mlflow", 5000)])
def test_the_drift_check_reaches_minio_and_mlflow_with_the_capture_keys(
    helm, component, port
) -> None:
    guard = render(GUARD, set_values=[*ON, "drift.enabled=true"], cached=False)
    (cronjob,) = by_kind(guard, "CronJob")
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    env = env_of(template["spec"]["containers"][0])
    assert env["LIBRA_S3_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "guard-capture-keys"
    assert env["CAPTURE_URI"]["value"] == "s3://libra-captures/guard"
    assert "secretKeyRef" in env["MLFLOW_TRACKING_PASSWORD"]["valueFrom"]
    platform = render(PLATFORM)
    (target,) = [
        deployment
        for deployment in by_kind(platform, "Deployment")
        if deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        == component
    ]
    policies = by_kind(platform, "NetworkPolicy") + by_kind(guard, "NetworkPolicy")
    drift = Pod("drift", RENDER_NAMESPACE, template["metadata"]["labels"])
    labels = target["spec"]["template"]["metadata"]["labels"]
    assert admits(policies, drift, Pod(component, RENDER_NAMESPACE, labels), port)
