"""Cheap checks of the infra files that need no Docker engine and no cluster.

The scripts parse (``bash -n``; shellcheck too where it is installed), the kind config has the
nodes and port mappings kind-up.sh and kind-demo.sh rely on, and the names and versions that
several files must agree on do agree: the image tag the pipeline runs, the torch pin.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from components import PROJECT_IMAGE
from pipelines.config import load_pipeline_config

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((REPO_ROOT / "infra" / "scripts").glob("*.sh"))
KIND_CONFIG = REPO_ROOT / "infra" / "kind" / "cluster.yaml"


def _script_default(script: str, variable: str) -> str:
    """The default a script gives ``variable`` in ``NAME=${ENV:-default}`` form."""
    text = (REPO_ROOT / "infra" / "scripts" / script).read_text(encoding="utf-8")
    match = re.search(rf"^\s*{variable}=\$\{{.*:-([^{{}}]+)\}}", text, re.MULTILINE)
    if match is None:
        pytest.fail(f"{script} sets no default for {variable}")
    return match.group(1)


def test_every_script_parses() -> None:
    assert len(SCRIPTS) >= 6, f"expected the infra scripts, found {SCRIPTS}"
    for script in SCRIPTS:
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"


def test_scripts_are_strict_and_runnable() -> None:
    for script in SCRIPTS:
        text = script.read_text(encoding="utf-8")
        if script.name == "kind-lib.sh":  # sourced, never run
            continue
        assert text.startswith("#!/usr/bin/env bash\n"), script.name
        assert "set -euo pipefail" in text, script.name
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable"


def test_scripts_pass_shellcheck() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    result = subprocess.run(
        ["shellcheck", "-x", *map(str, SCRIPTS)], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stdout


def test_kind_config_has_one_control_plane_and_one_worker_on_a_pinned_image() -> None:
    config = yaml.safe_load(KIND_CONFIG.read_text(encoding="utf-8"))
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    roles = [node["role"] for node in config["nodes"]]
    assert sorted(roles) == ["control-plane", "worker"]
    for node in config["nodes"]:
        assert re.fullmatch(r"kindest/node:v[\d.]+@sha256:[0-9a-f]{64}", node["image"])


def test_kind_config_maps_the_node_ports_the_scripts_use() -> None:
    config = yaml.safe_load(KIND_CONFIG.read_text(encoding="utf-8"))
    control_plane = next(n for n in config["nodes"] if n["role"] == "control-plane")
    mapped = {m["containerPort"]: m for m in control_plane["extraPortMappings"]}
    lib = (REPO_ROOT / "infra" / "scripts" / "kind-lib.sh").read_text(encoding="utf-8")
    used = {int(port) for port in re.findall(r"^[A-Z_]+_NODE_PORT=(\d+)$", lib, re.MULTILINE)}
    assert len(used) == 4, "KFP UI, MLflow, guard API and Ray dashboard"
    assert used == set(mapped)
    for mapping in mapped.values():
        assert mapping["hostPort"] == mapping["containerPort"]
        assert mapping["listenAddress"] == "127.0.0.1", "the stack must not listen on the LAN"


def test_built_image_is_the_one_the_pipeline_and_kind_name() -> None:
    assert _script_default("build-image.sh", "tag").endswith(PROJECT_IMAGE)
    assert _script_default("kind-lib.sh", "LIBRA_IMAGE") == PROJECT_IMAGE
    kind_pipeline = load_pipeline_config(REPO_ROOT / "infra" / "kind" / "pipeline.yaml")
    assert kind_pipeline.image == PROJECT_IMAGE


def _quantity(value: str) -> float:
    """A Kubernetes quantity (``500m``, ``2``, ``1536Mi``, ``3Gi``, ``8G``) as a number."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", value)
    assert match is not None and match.group(2) in {"", *units}, f"not a quantity: {value}"
    return float(match.group(1)) * units.get(match.group(2), 1)


def test_kind_pipeline_fits_the_laptop_budget() -> None:
    """One training pod may take at most half the 4 CPU / 8 GiB kind budget."""
    kind_pipeline = load_pipeline_config(REPO_ROOT / "infra" / "kind" / "pipeline.yaml")
    resources = kind_pipeline.resources
    assert not kind_pipeline.train.use_gpu
    assert _quantity(resources.cpu_request) <= _quantity(resources.cpu_limit) <= 2
    assert _quantity(resources.memory_request) <= _quantity(resources.memory_limit) <= 4 * 2**30


def test_dockerfile_torch_pin_matches_pyproject() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [d for d in project["project"]["dependencies"] if d.startswith("torch==")]
    dockerfile = (REPO_ROOT / "infra" / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"^ARG TORCH_VERSION=(\S+)$", dockerfile, re.MULTILINE)
    assert match is not None, "infra/Dockerfile declares no TORCH_VERSION"
    assert pins == [f"torch=={match.group(1)}"]


def test_dockerfile_runs_as_a_fixed_non_root_user() -> None:
    dockerfile = (REPO_ROOT / "infra" / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    # Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
    assert users == ["1000:1000"]


def _lib_default(variable: str) -> str:
    text = (REPO_ROOT / "infra" / "scripts" / "kind-lib.sh").read_text(encoding="utf-8")
    match = re.search(rf"^{variable}=\$\{{{variable}:-([^}}]+)\}}$", text, re.MULTILINE)
    assert match, f"{variable} has no default in kind-lib.sh"
    return match[1]


def test_kfp_backend_tag_is_its_own_setting_not_the_sdk_version() -> None:
    # KFP backend tags do not follow SDK patch releases: SDK 2.17.x has backend tag 2.17.0.
    from importlib import metadata

    sdk = metadata.version("kfp")
    backend = _lib_default("KFP_BACKEND_VERSION")
    assert re.fullmatch(r"\d+\.\d+\.0", backend), backend
    assert backend.rsplit(".", 1)[0] == sdk.rsplit(".", 1)[0], (backend, sdk)
    scripts = (REPO_ROOT / "infra" / "scripts" / "kind-up.sh").read_text(encoding="utf-8")
    assert "ref=$KFP_BACKEND_VERSION" in scripts and "KFP_VERSION" not in scripts


def test_kind_up_labels_the_namespace_for_pod_security() -> None:
    scripts = (REPO_ROOT / "infra" / "scripts" / "kind-up.sh").read_text(encoding="utf-8")
    assert "pod-security.kubernetes.io/enforce=$enforce" in scripts
    assert "pod-security.kubernetes.io/warn=restricted" in scripts
    assert re.search(r"^\s+label_pod_security$", scripts, re.MULTILINE)
