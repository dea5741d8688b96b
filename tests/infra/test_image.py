"""The project image (infra/Dockerfile) builds and runs the way KFP and KubeRay run it.

Built on a base made here from a debootstrap root file system (infra/scripts/make-base-image.sh;
no image registry is needed), then run as Kubernetes runs it in the charts: UID 1000, read-only
root file system, a writable /tmp only. A pipeline component runs from the checked-in compiled
pipeline's own command and arguments, with an executor input as the KFP launcher writes it
and artifact URIs under ``minio://`` (the launcher's local mount ``/minio``), with no network:
nothing may be installed at run time.

Needs a Docker engine (CI starts one with infra/scripts/start-docker.sh) and, for the base,
root and a reachable Debian mirror; skipped with the reason otherwise. The first build takes
about 10-15 minutes (PyPI downloads); later runs reuse Docker's layer cache and take seconds
unless pyproject.toml or the Dockerfile changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "infra" / "scripts"
COMPILED_PIPELINE = REPO_ROOT / "pipelines" / "libra_guard_pipeline.yaml"
BASE_IMAGE = "libra-guard-base:bookworm"
IMAGE = "libra-guard:image-test"
#: The user the charts run the image as (securityContext.runAsUser).
RUN_AS = "1000"

pytestmark = pytest.mark.slow


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _docker_run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``docker run`` as Kubernetes runs the image: read-only root, writable /tmp only."""
    command = ["docker", "run", "--rm", "--read-only", "--tmpfs", "/tmp:rw,size=256m", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def project_image() -> str:
    """The image, built (or taken from Docker's layer cache) once per test module."""
    if shutil.which("docker") is None:
        pytest.skip("no docker client on PATH; CI installs one (infra/scripts/start-docker.sh)")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        pytest.skip(
            "no Docker engine answers (docker info failed); start one with "
            "infra/scripts/start-docker.sh (as root)"
        )
    base = subprocess.run(
        [str(SCRIPTS / "make-base-image.sh"), BASE_IMAGE],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if base.returncode != 0:
        pytest.skip(f"cannot build the local base image {BASE_IMAGE}:\n{_tail(base.stderr)}")
    build = subprocess.run(
        [str(SCRIPTS / "build-image.sh"), IMAGE],
        capture_output=True,
        text=True,
        timeout=3600,
        env={**os.environ, "LIBRA_BASE_IMAGE": BASE_IMAGE, "LIBRA_IMAGE_VARIANT": "cpu"},
    )
    assert build.returncode == 0, f"infra/Dockerfile does not build:\n{_tail(build.stdout)}\n" + (
        _tail(build.stderr)
    )
    return IMAGE


def test_runs_as_non_root_by_default(project_image: str) -> None:
    result = subprocess.run(
        ["docker", "run", "--rm", project_image, "id", "-u"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == RUN_AS


def test_cli_help_lists_the_commands_on_a_read_only_root(project_image: str) -> None:
    result = _docker_run("--user", RUN_AS, project_image, "libra-guard", "--help")
    assert result.returncode == 0, result.stderr
    for command in ("train", "run", "submit", "serve", "moderate", "data"):
        assert f" {command} " in result.stdout, f"`{command}` missing from:\n{result.stdout}"


def _pipeline_spec() -> dict:
    """The pipeline spec document of the compiled pipeline (kfp-kubernetes adds a second one)."""
    documents = yaml.safe_load_all(COMPILED_PIPELINE.read_text(encoding="utf-8"))
    return next(doc for doc in documents if doc and "deploymentSpec" in doc)


def _open_folders(root: Path, relative: str) -> Path:
    """``root/relative``, every folder on the way created and writable by the container's
    user (the files the step writes there are its own)."""
    folder = root
    for part in Path(relative).parts:
        folder = folder / part
    for each in (root, *[p for p in folder.parents if p.is_relative_to(root)], folder):
        each.mkdir(parents=True, exist_ok=True)
        each.chmod(0o777)
    return folder


def test_prepare_data_component_runs_as_kfp_runs_it(project_image: str, tmp_path: Path) -> None:
    spec = _pipeline_spec()
    container = spec["deploymentSpec"]["executors"]["exec-prepare-data"]["container"]
    outputs = spec["components"]["comp-prepare-data"]["outputDefinitions"]["artifacts"]
    task_prefix = "mlpipeline/v2/artifacts/image-test/run-1/prepare-data"
    minio = tmp_path / "minio"
    _open_folders(minio, task_prefix)
    kfp_io = _open_folders(tmp_path / "kfp-io", ".")
    executor_input = {
        "inputs": {
            "parameterValues": {
                "data_config": {
                    "seed": 7,
                    "stage1_rows": 20,
                    "stage2_rows": 12,
                    "test_rows_per_source": 10,
                },
                "source_fingerprint": "",
            }
        },
        "outputs": {
            "artifacts": {
                name: {
                    "artifacts": [
                        {
                            "name": name,
                            "type": definition["artifactType"],
                            "uri": f"minio://{task_prefix}/{name}",
                            "metadata": {},
                        }
                    ]
                }
                for name, definition in outputs.items()
            },
            "outputFile": "/kfp-io/executor_output.json",
        },
    }
    # The launcher substitutes the placeholder {{$}} with the executor input, as here.
    args = [json.dumps(executor_input) if arg == "{{$}}" else arg for arg in container["args"]]
    result = _docker_run(
        "--network",
        "none",
        "--user",
        RUN_AS,
        "--volume",
        f"{minio}:/minio",
        "--volume",
        f"{kfp_io}:/kfp-io",
        project_image,
        *container["command"],
        *args,
        timeout=600,
    )
    assert result.returncode == 0, f"{_tail(result.stdout)}\n{_tail(result.stderr)}"

    executor_output = json.loads((kfp_io / "executor_output.json").read_text(encoding="utf-8"))
    assert (
        set(executor_output["artifacts"])
        == set(outputs)
        == {"stage1_data", "stage2_data", "test_data", "quarantine"}
    )
    for name in ("stage1_data", "stage2_data", "test_data"):
        (artifact,) = executor_output["artifacts"][name]["artifacts"]
        metadata = artifact["metadata"]
        dataset = minio / task_prefix / name
        rows = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines()]
        assert rows, f"{name} is empty"
        assert metadata["rows"] == len(rows)
        assert len(metadata["sha256"]) == 64
        assert {"question", "response", "label"} <= set(rows[0])
    # The quarantine output is a folder: one file per dataset, its count in the metadata.
    (quarantine,) = executor_output["artifacts"]["quarantine"]["artifacts"]
    folder = minio / task_prefix / "quarantine"
    files = {path.name for path in folder.iterdir()}
    assert {"stage1.quarantine.jsonl", "stage2.quarantine.jsonl", "test.quarantine.jsonl"} <= files
    for name, count in quarantine["metadata"].items():
        lines = (folder / f"{name}.quarantine.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == count, f"{name}: metadata says {count}, the file holds {len(lines)}"
    stage1 = executor_output["artifacts"]["stage1_data"]["artifacts"][0]["metadata"]
    # 20 response rows and their 4 prompt-task rows (data.prompt_task_share, default 0.2).
    assert stage1["rows"] <= 24, "the step ignored its data_config parameter"
