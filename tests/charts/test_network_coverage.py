"""Network coverage: under the NetworkPolicies both charts render, every flow the platform
needs is admitted, and nothing else reaches MinIO, MLflow, PostgreSQL or the RayJobs'
dashboards. Each rule is also shown to be needed: removing any one breaks a needed flow.

The pods' labels come from where they are made: the rendered charts, the compiled pipeline
(kfp-kubernetes pod labels), ``build_rayjob``, and KubeRay's own labelling of Ray pods
(``tests/kube/kuberay.py``, ``label_pod``). No cluster runs here, so the policies are evaluated
by ``tests/charts/netpol.py`` (Kubernetes' ingress semantics)."""

from __future__ import annotations

import copy

import pytest
import yaml

from libra_guard.kube.rayjob import build_rayjob
from libra_guard.kube.wiring import RayJobPods
from pipelines.libra_guard_pipeline import COMPILED_YAML
from tests.charts.manifests import RENDER_NAMESPACE, by_kind, render
from tests.charts.netpol import Pod, admits
from tests.kube.kuberay import label_pod

NS = RENDER_NAMESPACE
OPERATOR_NS = "kuberay-system"


def _template_labels(objects: list[dict], kind: str, component: str) -> dict:
    for obj in by_kind(objects, kind):
        spec = obj["spec"]
        labels = (
            spec.get("template", {}).get("metadata", {}).get("labels") or obj["metadata"]["labels"]
        )
        if labels.get("app.kubernetes.io/component") == component:
            return labels
    raise LookupError(f"no {kind} of component {component}")


def _pipeline_labels(executor: str) -> dict:
    documents = list(yaml.safe_load_all(COMPILED_YAML.read_text(encoding="utf-8")))
    executors = documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    labels = dict(executors[executor]["podMetadata"]["labels"])
    return {**labels, "workflows.argoproj.io/workflow": "libra-guard-run"}


@pytest.fixture(scope="module")
def world() -> tuple[list[dict], dict[str, Pod]]:
    platform = render("libra-platform")
    guard = render("libra-guard")
    (service,) = by_kind(guard, "RayService")
    cluster = service["spec"]["rayClusterConfig"]
    rayjob = build_rayjob(
        name="libra-stage1-0123",
        namespace=NS,
        stage="stage1",
        key="k",
        spec_uri="s3://b/s",
        image="i",
        num_workers=1,
        use_gpu=False,
        timeout_s=60,
        pods=RayJobPods(),
    )["spec"]["rayClusterSpec"]
    pods = {
        "rollout step": Pod("rollout", NS, _pipeline_labels("exec-deploy-guard")),
        "training step": Pod("train", NS, _pipeline_labels("exec-pretrain-guard")),
        "guard head": Pod(
            "gh",
            NS,
            label_pod(
                "head", "g", "headgroup", cluster["headGroupSpec"]["template"]["metadata"]["labels"]
            ),
        ),
        "guard worker": Pod(
            "gw",
            NS,
            label_pod(
                "worker",
                "g",
                "cpu",
                cluster["workerGroupSpecs"][0]["template"]["metadata"]["labels"],
            ),
        ),
        "rayjob head": Pod(
            "jh",
            NS,
            label_pod(
                "head", "j", "headgroup", rayjob["headGroupSpec"]["template"]["metadata"]["labels"]
            ),
        ),
        "rayjob worker": Pod(
            "jw",
            NS,
            label_pod(
                "worker",
                "j",
                "train",
                rayjob["workerGroupSpecs"][0]["template"]["metadata"]["labels"],
            ),
        ),
        "mlflow": Pod("mlflow", NS, _template_labels(platform, "Deployment", "mlflow")),
        "minio": Pod("minio", NS, _template_labels(platform, "Deployment", "minio")),
        "postgresql": Pod("pg", NS, _template_labels(platform, "StatefulSet", "postgresql")),
        "bucket job": Pod("mb", NS, _template_labels(platform, "Job", "minio-buckets")),
        "operator": Pod("op", OPERATOR_NS, {"app.kubernetes.io/name": "kuberay-operator"}),
        "stranger": Pod("x", NS, {"app": "something-else"}),
        "stranger elsewhere": Pod("y", "other", {"libra-guard.io/platform-client": "true"}),
    }
    policies = by_kind(platform, "NetworkPolicy") + by_kind(guard, "NetworkPolicy")
    return policies, pods


NEEDED = [
    ("operator", "guard head", 8000),
    ("operator", "guard head", 8265),
    ("rollout step", "guard head", 8000),
    ("rollout step", "guard worker", 8000),
    ("training step", "rayjob head", 8265),
    ("operator", "rayjob head", 8265),
    ("rayjob worker", "rayjob head", 6379),
    ("guard worker", "guard head", 6379),
    *[
        (client, server, port)
        for client in (
            "rollout step",
            "training step",
            "rayjob head",
            "rayjob worker",
            "guard head",
            "guard worker",
        )
        for server, port in (("minio", 9000), ("mlflow", 5000))
    ],
    ("mlflow", "minio", 9000),
    ("bucket job", "minio", 9000),
    ("mlflow", "postgresql", 5432),
]
REFUSED = [
    *[
        (source, target, port)
        for source in ("stranger", "stranger elsewhere")
        for target, port in (
            ("minio", 9000),
            ("mlflow", 5000),
            ("postgresql", 5432),
            ("rayjob head", 8265),
            ("guard head", 8000),
        )
    ],
    ("rollout step", "minio", 9001),
    ("mlflow", "minio", 9001),
    ("guard head", "postgresql", 5432),
    ("rollout step", "postgresql", 5432),
    ("guard worker", "rayjob head", 8265),
    ("rayjob head", "guard head", 8265),
    ("training step", "guard head", 8000),
    ("operator", "mlflow", 5000),
]


@pytest.mark.parametrize(("source", "target", "port"), NEEDED)
def test_every_needed_flow_is_admitted(helm, world, source, target, port):
    policies, pods = world
    assert admits(policies, pods[source], pods[target], port)


@pytest.mark.parametrize(("source", "target", "port"), REFUSED)
def test_nothing_else_reaches_the_platform(helm, world, source, target, port):
    policies, pods = world
    assert not admits(policies, pods[source], pods[target], port)


def test_every_rule_is_needed_so_removing_one_fails_the_check(helm, world):
    policies, pods = world
    checked = 0
    for index, policy in enumerate(policies):
        for rule in range(len(policy["spec"]["ingress"])):
            trimmed = copy.deepcopy(policies)
            del trimmed[index]["spec"]["ingress"][rule]
            broken = [
                flow
                for flow in NEEDED
                if not admits(trimmed, pods[flow[0]], pods[flow[1]], flow[2])
            ]
            name = policy["metadata"]["name"]
            assert broken, f"rule {rule} of NetworkPolicy {name} admits no needed flow"
            checked += 1
    assert checked >= 8
