"""Permission coverage: every Kubernetes API call the pipeline's pods make is allowed by the
Role the libra-platform chart binds to the pipeline's ServiceAccount.

The calls come from two places: our own cluster-path code, run here against the stand-in API
server, which records each (verb, group, resource) (``FakeKubeApi.calls``); and what KFP's own
pods need, since KFP runs every pod of a run (driver, launcher, Argo executor) as the run's
service account (``backend/src/apiserver/template/template.go``, ``SetServiceAccount``). A
Role missing any of them fails here, and removing any single rule is shown to fail too."""

from __future__ import annotations

import copy

import pytest

from libra_guard.kube.follow import RayJobRunner
from libra_guard.kube.rayjob import build_rayjob
from libra_guard.kube.wiring import RayJobPods
from serving.rollout.base import roll_out
from tests.charts.manifests import by_kind, render
from tests.fakes.guard_api import FakeGuardCluster
from tests.kube.kuberay import KubeRayJobOperator
from tests.serving.test_rollout_rayservice import CHART_CONFIG, NEW, SMOKE, Scores, rollout_on

ACCOUNT = "libra-pipeline"
#: What KFP 2.17's own pods do through the API under the run's account (kubeflow/pipelines):
KFP_NEEDS = {
    # launcher: the kfp-launcher ConfigMap (backend/src/v2/config/env.go)
    ("get", "", "configmaps"),
    # launcher: the object store's credentials Secret
    # (backend/src/v2/objectstore/object_store.go)
    ("get", "", "secrets"),
    # driver: its pods and PVCs of kubernetes_platform volumes
    # (backend/src/v2/driver; ml-pipeline executor role's comments)
    ("get", "", "pods"),
    ("list", "", "pods"),
    ("watch", "", "pods"),
    ("create", "", "persistentvolumeclaims"),
    ("delete", "", "persistentvolumeclaims"),
    # Argo's executor reports outputs as WorkflowTaskResults
    ("create", "argoproj.io", "workflowtaskresults"),
    ("patch", "argoproj.io", "workflowtaskresults"),
}


def allows(rules: list[dict], verb: str, group: str, resource: str) -> bool:
    return any(
        (group in rule.get("apiGroups", []) or "*" in rule.get("apiGroups", []))
        and (resource in rule.get("resources", []) or "*" in rule.get("resources", []))
        and (verb in rule.get("verbs", []) or "*" in rule.get("verbs", []))
        and not rule.get("resourceNames")
        for rule in rules
    )


def account_rules(objects: list[dict], account: str) -> list[dict]:
    """The rules of every Role bound to ``account`` by a RoleBinding of the chart."""
    roles = {role["metadata"]["name"]: role for role in by_kind(objects, "Role")}
    rules: list[dict] = []
    for binding in by_kind(objects, "RoleBinding"):
        if any(s["kind"] == "ServiceAccount" and s["name"] == account for s in binding["subjects"]):
            rules += roles[binding["roleRef"]["name"]]["rules"]
    return rules


@pytest.fixture(scope="module")
def our_calls(tmp_path_factory) -> set[tuple[str, str, str]]:
    """Run the cluster path against the stand-ins and record its API calls."""
    from tests.fakes.kube_api import FakeKubeApi
    from tests.fakes.ray_dashboard import FakeRayDashboard

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("LIBRA_API_KEY", "k3y")
    try:
        with FakeKubeApi() as api, FakeRayDashboard() as dashboard:
            api.add_namespace("ml")
            KubeRayJobOperator(api, dashboard, [("RUNNING", ""), ("SUCCEEDED", "")])
            manifest = build_rayjob(
                name="libra-stage1-0123",
                namespace="ml",
                stage="stage1",
                key="k",
                spec_uri="s3://b/spec.json",
                image="i",
                num_workers=1,
                use_gpu=False,
                timeout_s=60,
                pods=RayJobPods(),
            )
            runner = RayJobRunner(api.api_client(), "ml", log=lambda line: None, poll_s=0.02)
            runner.create_or_adopt(copy.deepcopy(manifest))  # then a retried step adopts it
            runner.run(manifest, timeout_s=30)
            with FakeGuardCluster(api, "ml", "libra-guard", Scores(), api_key="k3y") as guard:
                guard.create_rayservice(CHART_CONFIG)
                assert roll_out(rollout_on(api, guard), NEW, SMOKE).served
            return api.calls()
    finally:
        monkeypatch.undo()


def test_the_recorder_saw_the_cluster_path(our_calls) -> None:
    assert {("create", "ray.io", "rayjobs"), ("get", "ray.io", "rayjobs")} <= our_calls
    assert {("delete", "ray.io", "rayjobs"), ("patch", "ray.io", "rayservices")} <= our_calls


def test_the_pipeline_role_allows_every_call(helm, our_calls) -> None:
    objects = render("libra-platform")
    assert by_kind(objects, "ClusterRole") == [] and by_kind(objects, "ClusterRoleBinding") == []
    rules = account_rules(objects, ACCOUNT)
    needed = (our_calls - {("create", "", "namespaces")}) | KFP_NEEDS
    denied = sorted(call for call in needed if not allows(rules, *call))
    assert denied == [], f"the Role bound to {ACCOUNT} does not allow {denied}"


def test_removing_a_rule_a_call_needs_fails_the_check(helm, our_calls) -> None:
    # The Role also carries the rest of KFP's pipeline-runner rules (snapshots, jobs,
    # kubeflow.org) for KFP features this pipeline does not use today; the rules the calls
    # above need must each be caught when removed.
    rules = account_rules(render("libra-platform"), ACCOUNT)
    needed = (our_calls - {("create", "", "namespaces")}) | KFP_NEEDS
    caught = []
    for index, rule in enumerate(rules):
        trimmed = rules[:index] + rules[index + 1 :]
        if not all(allows(trimmed, *call) for call in needed):
            caught.append(rule)
    groups = [group for rule in caught for group in rule["apiGroups"]]
    assert groups.count("ray.io") == 2, caught  # rayjobs and rayservices
    assert "argoproj.io" in groups and "" in groups, caught
