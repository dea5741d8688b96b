"""The lifecycle pieces of the libra-guard chart, rendered with Helm and checked offline: the
Grafana dashboard ConfigMap, the optional PodMonitor (and the NetworkPolicy that lets
Prometheus reach the metrics port), capture wiring into the Serve config, the drift CronJob.
Whether the dashboard's queries name exported metrics is checked on a live scrape in
``test_served_metrics``."""

from __future__ import annotations

import json
import re

import yaml

from serving.config import ServingConfig
from tests.charts.manifests import by_kind, render, render_error, validate_object

CHART = "libra-guard"
ON = {
    "capture": {"enabled": True, "existingSecret": "capture-keys", "rate": 0.05},
    "drift": {"enabled": True, "kfpHost": "http://ml-pipeline.kubeflow:8888"},
    "monitoring": {"podMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}}},
}


def serve_apps(objects: list[dict]) -> list[dict]:
    (service,) = by_kind(objects, "RayService")
    return yaml.safe_load(service["spec"]["serveConfigV2"])["applications"]


def ray_pod_labels(objects: list[dict]) -> list[dict]:
    (service,) = by_kind(objects, "RayService")
    cluster = service["spec"]["rayClusterConfig"]
    groups = [cluster["headGroupSpec"], *cluster.get("workerGroupSpecs", [])]
    return [group["template"]["metadata"]["labels"] for group in groups]


def test_defaults_ship_the_dashboard_only(helm) -> None:
    objects = render(CHART)
    maps = by_kind(objects, "ConfigMap")
    (dashboard,) = [o for o in maps if o["metadata"]["name"].endswith("-dashboard")]
    validate_object(dashboard)
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    model = json.loads(dashboard["data"]["libra-guard.json"])
    assert model["uid"] == "libra-guard" and len(model["panels"]) >= 8
    assert not by_kind(objects, "PodMonitor") and not by_kind(objects, "CronJob")
    # Capture is off by default: no capture block reaches the replicas.
    assert all(app["args"]["serving"].get("capture") is None for app in serve_apps(objects))


def test_monitoring_capture_and_drift_when_enabled(helm, tmp_path) -> None:
    values = tmp_path / "lifecycle.yaml"
    values.write_text(yaml.safe_dump(ON), encoding="utf-8")
    objects = render(CHART, values_files=[values], cached=False)
    (monitor,) = by_kind(objects, "PodMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    selector = monitor["spec"]["selector"]
    components = selector["matchExpressions"][0]["values"]
    # The PodMonitor selects every Ray pod of the release: head and workers.
    for labels in ray_pod_labels(objects):
        assert selector["matchLabels"].items() <= labels.items()
        assert labels["app.kubernetes.io/component"] in components
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    (metrics_policy,) = [
        o for o in by_kind(objects, "NetworkPolicy") if o["metadata"]["name"].endswith("-metrics")
    ]
    validate_object(metrics_policy)
    assert metrics_policy["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]

    for app in serve_apps(objects):
        capture = ServingConfig.model_validate(app["args"]["serving"]).capture
        assert capture is not None and capture.uri == "s3://libra-captures/guard"
        assert capture.rate == 0.05 and capture.near_threshold_rate == 0.5

    (cronjob,) = by_kind(objects, "CronJob")
    validate_object(cronjob)
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert env["CAPTURE_URI"]["value"] == "s3://libra-captures/guard"
    assert env["KFP_HOST"]["value"] == "http://ml-pipeline.kubeflow:8888"
    assert "LIBRA_API_KEY" not in env  # the check never needs the guard's key
    script = container["args"][0]
    assert re.search(r"libra-guard monitor drift --capture", script)
    assert '"$code" -eq 3' in script and "libra-guard submit" in script


def test_drift_without_capture_fails_with_the_key_to_set(helm) -> None:
    error = render_error(CHART, set_values=("drift.enabled=true",))
    assert "capture.enabled" in error


def test_a_capture_bucket_or_prefix_that_s3_would_refuse_is_refused(helm) -> None:
    error = render_error(CHART, set_values=("capture.bucket=Not_A_Bucket",))
    assert "/capture/bucket" in error
    error = render_error(CHART, set_values=("capture.prefix=/guard/",))
    assert "/capture/prefix" in error


def test_service_monitor_scrapes_every_ray_pod_through_a_headless_service(helm) -> None:
    from tests.kube.kuberay import label_pod, selects

    assert not by_kind(render(CHART), "ServiceMonitor")
    objects = render(
        CHART,
        set_values=(
            "monitoring.serviceMonitor.enabled=true",
            "monitoring.serviceMonitor.labels.release=kube-prometheus-stack",
        ),
    )
    assert not by_kind(objects, "PodMonitor")
    (service,) = [
        s for s in by_kind(objects, "Service") if s["metadata"]["name"].endswith("-metrics")
    ]
    validate_object(service)
    assert service["spec"]["clusterIP"] == "None"
    (port,) = service["spec"]["ports"]
    assert (port["name"], port["port"], port["targetPort"]) == ("metrics", 8080, "metrics")
    # KubeRay's labels on the pods (common/pod.go labelPod): head and workers are selected,
    # the `helm test` pod of the release is not.
    head_labels, worker_labels = ray_pod_labels(objects)[:2]
    head = label_pod("head", "c", "headgroup", head_labels)
    worker = label_pod("worker", "c", "cpu", worker_labels)
    selector = service["spec"]["selector"]
    assert selects(selector, head) and selects(selector, worker)
    (test_pod,) = by_kind(objects, "Pod")
    assert not selects(selector, test_pod["metadata"]["labels"])

    (monitor,) = by_kind(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == ["libra"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics")
    # Prometheus may reach the metrics port through the release's NetworkPolicy.
    assert [
        p for p in by_kind(objects, "NetworkPolicy") if p["metadata"]["name"].endswith("-metrics")
    ]


def test_pod_and_service_monitors_together_are_refused(helm) -> None:
    error = render_error(
        CHART,
        set_values=("monitoring.podMonitor.enabled=true", "monitoring.serviceMonitor.enabled=true"),
    )
    assert "enable one" in error
