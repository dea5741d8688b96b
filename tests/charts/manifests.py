"""Render the Helm charts and check the manifests offline (no Kubernetes API server runs here).

- ``helm_binary``: ``$LIBRA_HELM``, else ``.venv/bin/helm``, else ``helm`` on PATH;
  ``make install`` puts v3.19.0 in the venv (``infra/tools/install_helm.py``).
- ``render``: ``helm template`` output split into objects.
- ``validate_object``: core kinds with kubernetes-validate in strict mode against the pinned
  Kubernetes version; ``ray.io`` kinds with jsonschema against ``../shared/schemas``; any other
  kind has no schema, which is a failure, not a pass.
- ``containers``: every container an object will run, including the ones nested in a
  RayService (head, worker groups, the autoscaler sidecar).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHARTS_DIR = REPO_ROOT / "charts"
RAY_SCHEMAS_DIR = REPO_ROOT.parent / "shared" / "schemas" / "ray.io"
#: The Kubernetes version the manifests are checked against (kind's node images are 1.31+).
KUBERNETES_VERSION = "1.31"
#: API groups kubernetes-validate covers (the core group has no dot-suffixed name).
CORE_GROUPS = {"", "apps", "batch", "policy", "rbac.authorization.k8s.io", "networking.k8s.io"}
RENDER_NAMESPACE = "libra"
RELEASE = "test"


class ManifestError(Exception):
    """A rendered object is invalid or cannot be checked."""


class RaySchemasMissing(ManifestError):
    """``../shared/schemas/ray.io`` is absent, so ``ray.io`` kinds cannot be checked."""


def helm_binary() -> str | None:
    """The helm to use: ``$LIBRA_HELM``, ``.venv/bin/helm``, then PATH; ``None`` if none."""
    candidates = [os.environ.get("LIBRA_HELM"), str(REPO_ROOT / ".venv" / "bin" / "helm")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("helm")


def run_helm(args: Sequence[str]) -> subprocess.CompletedProcess:
    helm = helm_binary()
    if helm is None:
        raise ManifestError("no helm binary: run `make install` (infra/tools/install_helm.py)")
    return subprocess.run([helm, *args], capture_output=True, text=True, timeout=60, check=False)


def chart_args(
    chart: str, values_files: Sequence[str | Path] = (), set_values: Sequence[str] = ()
) -> list[str]:
    args = [str(CHARTS_DIR / chart)]
    for values_file in values_files:
        path = Path(values_file)
        args += ["-f", str(path if path.is_absolute() else CHARTS_DIR / chart / path)]
    for assignment in set_values:
        args += ["--set", assignment]
    return args


def lint(
    chart: str, values_files: Sequence[str | Path] = (), set_values: Sequence[str] = ()
) -> subprocess.CompletedProcess:
    """``helm lint --strict`` (which also checks the values against values.schema.json)."""
    return run_helm(["lint", "--strict", *chart_args(chart, values_files, set_values)])


@functools.lru_cache(maxsize=64)
def _template(chart: str, values_files: tuple, set_values: tuple, release: str) -> str:
    answer = run_helm(
        [
            "template",
            release,
            *chart_args(chart, values_files, set_values),
            "--namespace",
            RENDER_NAMESPACE,
        ]
    )
    if answer.returncode != 0:
        raise ManifestError(f"helm template {chart} failed: {answer.stderr.strip()}")
    return answer.stdout


def render(
    chart: str,
    values_files: Sequence[str | Path] = (),
    set_values: Sequence[str] = (),
    *,
    release: str = RELEASE,
    cached: bool = True,
) -> list[dict]:
    """The objects ``helm template`` renders, hook and test objects included; ``cached=False``
    renders again (generated credentials differ between renders)."""
    template = _template if cached else _template.__wrapped__
    text = template(chart, tuple(str(v) for v in values_files), tuple(set_values), release)
    return [copy.deepcopy(doc) for doc in yaml.safe_load_all(text) if doc]


def render_error(
    chart: str, values_files: Sequence[str | Path] = (), set_values: Sequence[str] = ()
) -> str:
    """The error of a render that must fail (empty when it succeeds)."""
    answer = run_helm(
        ["template", RELEASE, *chart_args(chart, values_files, set_values), "-n", RENDER_NAMESPACE]
    )
    return answer.stderr if answer.returncode != 0 else ""


def group_of(obj: dict) -> str:
    api_version = str(obj.get("apiVersion", ""))
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def skip_without_ray_schemas() -> None:
    """Skip the calling test, saying why, where ../shared/schemas (the ray.io CRD schemas) is
    absent: a test that expects a ray.io validation error cannot tell it from this one."""
    if not RAY_SCHEMAS_DIR.is_dir():
        pytest.skip(
            f"ray.io kinds not checked: {RAY_SCHEMAS_DIR} is absent (it lives in ../shared/schemas)"
        )


@functools.lru_cache(maxsize=8)
def _ray_schema(kind: str, version: str) -> dict:
    if not RAY_SCHEMAS_DIR.is_dir():
        raise RaySchemasMissing(f"{RAY_SCHEMAS_DIR} is absent (it lives in ../shared/schemas)")
    path = RAY_SCHEMAS_DIR / f"{kind.lower()}_{version}.json"
    if not path.is_file():
        raise ManifestError(f"no schema for ray.io/{version} {kind} ({path.name} is absent)")
    return json.loads(path.read_text(encoding="utf-8"))


def validate_object(obj: dict) -> None:
    """Check one object against its schema.

    Raises:
        ManifestError: invalid, or its kind has no schema.
        RaySchemasMissing: a ray.io object while ../shared/schemas is absent.
    """
    kind = obj.get("kind", "?")
    name = (obj.get("metadata") or {}).get("name", "?")
    group = group_of(obj)
    if group in CORE_GROUPS:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(part) for part in exc.path)
            raise ManifestError(f"{kind}/{name}: {where}: {exc.message}") from exc
        except kubernetes_validate.SchemaNotFoundError as exc:
            raise ManifestError(f"{kind}/{name}: {exc.message}") from exc
        return
    if group == "ray.io":
        version = str(obj["apiVersion"]).rsplit("/", 1)[1]
        validator = jsonschema.Draft7Validator(_ray_schema(kind, version))
        problems = sorted(validator.iter_errors(obj), key=lambda error: list(error.path))
        if problems:
            details = "; ".join(
                f"{'.'.join(str(p) for p in error.path)}: {error.message}" for error in problems
            )
            raise ManifestError(f"{kind}/{name}: {details}")
        return
    raise ManifestError(f"{kind}/{name}: no schema for apiVersion {obj.get('apiVersion')}")


def pod_specs(obj: dict) -> Iterator[tuple[str, dict]]:
    """``(where, pod spec)`` of every pod an object makes."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        yield "pod", spec
    elif kind in ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"):
        yield "template", spec["template"]["spec"]
    elif kind == "RayService":
        cluster = spec["rayClusterConfig"]
        yield "head", cluster["headGroupSpec"]["template"]["spec"]
        for group in cluster.get("workerGroupSpecs") or []:
            yield f"worker group {group['groupName']}", group["template"]["spec"]


def containers(obj: dict) -> Iterator[tuple[str, dict, dict]]:
    """``(where, container, pod spec)`` of every container, init containers and the RayService
    autoscaler sidecar (KubeRay adds it to the head pod) included."""
    for where, spec in pod_specs(obj):
        for field in ("initContainers", "containers"):
            for container in spec.get(field) or []:
                yield f"{obj['kind']}/{where}/{container['name']}", container, spec
    if obj.get("kind") == "RayService":
        cluster = obj["spec"]["rayClusterConfig"]
        if cluster.get("enableInTreeAutoscaling"):
            head = cluster["headGroupSpec"]["template"]["spec"]
            options = dict(cluster.get("autoscalerOptions") or {})
            yield "RayService/autoscaler", {"name": "autoscaler", **options}, head


def by_kind(objects: Sequence[dict], kind: str) -> list[dict]:
    return [obj for obj in objects if obj.get("kind") == kind]


def merged_values(chart: str, values_files: Sequence[str | Path] = ()) -> dict:
    """The chart's values with the files laid over them as Helm does (maps merge, lists and
    scalars replace)."""

    def merge(base: dict, override: dict) -> dict:
        out = dict(base)
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
        return out

    values = yaml.safe_load((CHARTS_DIR / chart / "values.yaml").read_text(encoding="utf-8"))
    for values_file in values_files:
        path = Path(values_file)
        path = path if path.is_absolute() else CHARTS_DIR / chart / path
        values = merge(values, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return values
