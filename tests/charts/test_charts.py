"""Every chart with its default values and each example values file: `helm lint --strict`, and
every rendered object valid against its schema (kubernetes-validate strict for core kinds,
../shared/schemas for ray.io kinds), hardened, resourced and labelled."""

from __future__ import annotations

import pytest

from tests.charts.manifests import (
    CHARTS_DIR,
    ManifestError,
    RaySchemasMissing,
    containers,
    lint,
    pod_specs,
    render,
    skip_without_ray_schemas,
    validate_object,
)

CHARTS = ("libra-platform", "libra-guard")
CASES = [
    pytest.param(chart, values, id=f"{chart}[{values[0] if values else 'defaults'}]")
    for chart in CHARTS
    for values in [
        (),
        *[(path.name,) for path in sorted((CHARTS_DIR / chart).glob("values-*.yaml"))],
    ]
]
STANDARD_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
}


def test_every_chart_has_example_values_files():
    assert len(CASES) >= 5, [case.id for case in CASES]


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_lint_strict_passes(helm, chart, values):
    answer = lint(chart, values)
    assert answer.returncode == 0, answer.stdout + answer.stderr


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_every_rendered_object_matches_its_schema(helm, chart, values):
    objects = render(chart, values)
    assert objects
    missing_schemas = []
    for obj in objects:
        try:
            validate_object(obj)
        except RaySchemasMissing as exc:
            missing_schemas.append(str(exc))
    if missing_schemas:
        pytest.skip(f"ray.io kinds not checked: {missing_schemas[0]}")


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_every_container_is_hardened_and_resourced(helm, chart, values):
    checked = 0
    for where, container, pod in containers_of(chart, values):
        context = container.get("securityContext") or {}
        pod_context = pod.get("securityContext") or {}
        assert context.get("runAsNonRoot") is True, where
        assert isinstance(context.get("runAsUser"), int) and context["runAsUser"] > 0, where
        assert context.get("allowPrivilegeEscalation") is False, where
        assert context.get("capabilities", {}).get("drop") == ["ALL"], where
        seccomp = context.get("seccompProfile") or pod_context.get("seccompProfile") or {}
        assert seccomp.get("type") == "RuntimeDefault", where
        assert context.get("readOnlyRootFilesystem") is True, where
        resources = container.get("resources") or {}
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(bound) or {}), f"{where}: {bound}"
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_pods_never_mount_a_service_account_token_they_do_not_need(helm, chart, values):
    for obj in render(chart, values):
        autoscaled = (
            (obj.get("spec") or {}).get("rayClusterConfig", {}).get("enableInTreeAutoscaling")
        )
        for where, spec in pod_specs(obj):
            # The Ray autoscaler, a sidecar of the head, reads the token (node_provider.py).
            needed = obj["kind"] == "RayService" and where == "head" and autoscaled
            assert spec.get("automountServiceAccountToken") is bool(needed), (
                f"{obj['kind']} {where}"
            )


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_every_object_and_pod_carries_the_standard_labels(helm, chart, values):
    for obj in render(chart, values):
        labels = set((obj["metadata"].get("labels") or {}).keys())
        assert labels >= STANDARD_LABELS, f"{obj['kind']}/{obj['metadata']['name']}"
        for kind_where, spec_owner in pod_templates(obj):
            pod_labels = set((spec_owner.get("metadata", {}).get("labels") or {}).keys())
            expected = STANDARD_LABELS
            if obj["kind"] == "RayService":
                # KubeRay sets app.kubernetes.io/name=kuberay on Ray pods and its head Service
                # selects on it: a template must not override it (kuberay issue 2648).
                expected = STANDARD_LABELS - {"app.kubernetes.io/name"}
                assert "app.kubernetes.io/name" not in pod_labels, f"RayService {kind_where}"
            assert pod_labels >= expected, f"{obj['kind']} {kind_where}"


def test_an_object_without_a_schema_fails_the_check():
    with pytest.raises(ManifestError, match="no schema"):
        validate_object({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {}})
    with pytest.raises(ManifestError, match="Widget"):
        validate_object({"apiVersion": "apps/v1", "kind": "Widget", "metadata": {"name": "w"}})


def test_an_unknown_nested_field_fails_the_core_check(helm):
    deployment = next(o for o in render("libra-platform") if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(ManifestError, match="resource"):
        validate_object(deployment)


def test_an_unknown_nested_field_fails_the_ray_check(helm):
    service = next(o for o in render("libra-guard") if o["kind"] == "RayService")
    service["spec"]["rayClusterConfig"]["headGroupSpec"]["rayStartParam"] = {}
    skip_without_ray_schemas()
    with pytest.raises(ManifestError, match="rayStartParam"):
        validate_object(service)


def test_lint_rejects_values_that_break_the_schema(helm, tmp_path):
    cases = {
        "libra-platform": 'mlflow:\n  replicas: "2"\n',
        "libra-guard": 'cpuWorkers:\n  maxReplicas: "4"\n',
    }
    for chart, text in cases.items():
        bad = tmp_path / f"{chart}-bad.yaml"
        bad.write_text(text, encoding="utf-8")
        answer = lint(chart, [bad])
        assert answer.returncode != 0, chart
        assert "want integer" in answer.stdout + answer.stderr, chart


def test_lint_rejects_unknown_keys(helm, tmp_path):
    bad = tmp_path / "typo.yaml"
    bad.write_text("serving:\n  max_itemz: 3\n", encoding="utf-8")
    answer = lint("libra-guard", [bad])
    assert answer.returncode != 0
    assert "max_itemz" in answer.stdout + answer.stderr


def containers_of(chart, values):
    for obj in render(chart, values):
        yield from containers(obj)


def pod_templates(obj):
    kind = obj["kind"]
    spec = obj.get("spec") or {}
    if kind in ("Deployment", "StatefulSet", "Job"):
        yield "template", spec["template"]
    elif kind == "RayService":
        cluster = spec["rayClusterConfig"]
        yield "head", cluster["headGroupSpec"]["template"]
        for group in cluster.get("workerGroupSpecs") or []:
            yield group["groupName"], group["template"]


#: Volume types the `restricted` Pod Security Standard allows.
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_every_pod_passes_the_restricted_pod_security_standard(helm, chart, values):
    for obj in render(chart, values):
        for where, spec in pod_specs(obj):
            name = f"{obj['kind']} {where}"
            assert not {"hostNetwork", "hostPID", "hostIPC"} & set(spec), name
            for volume in spec.get("volumes") or []:
                kinds = set(volume) - {"name"}
                assert kinds <= RESTRICTED_VOLUMES, f"{name}: volume {volume['name']}"
                if "emptyDir" in kinds:
                    assert volume["emptyDir"].get("sizeLimit"), f"{name}: {volume['name']}"
    for where, container, _ in containers_of(chart, values):
        context = container.get("securityContext") or {}
        assert not context.get("privileged"), where
        added = set((context.get("capabilities") or {}).get("add") or [])
        assert added <= {"NET_BIND_SERVICE"}, where
        assert not container.get("ports") or all(
            "hostPort" not in port for port in container["ports"]
        ), where
