"""The kind flow end to end: the pipeline submitted to KFP on the kind stack trains on KubeRay,
registers in MLflow, rolls out on the RayService, and the guard API answers.

Runs only against a stack ``make kind-up`` brought up: the kubectl context
``kind-$LIBRA_KIND_CLUSTER`` (default ``libra``) answers and the platform's MLflow runs in
``$LIBRA_NAMESPACE`` (default ``kubeflow``, where KFP runs its steps). Skipped with the reason
otherwise, since no Kubernetes API server can run on the build machines. It drives
infra/scripts/kind-demo.sh, a full pipeline run: 20-40 minutes on a 4 CPU / 8 GiB laptop.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
KIND_DEMO = REPO_ROOT / "infra" / "scripts" / "kind-demo.sh"
CLUSTER = os.environ.get("LIBRA_KIND_CLUSTER", "libra")
NAMESPACE = os.environ.get("LIBRA_NAMESPACE", "kubeflow")
CONTEXT = f"kind-{CLUSTER}"

pytestmark = pytest.mark.slow


def _kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--context", CONTEXT, "-n", NAMESPACE, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def kind_stack() -> str:
    """The kubectl context of a running stack; skips where there is none."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed, so no kind cluster can be reached")
    probe = _kubectl("get", "deployment", "libra-platform-mlflow", "-o", "name")
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no answer"])[-1][:200]
        pytest.skip(
            f"no kind stack on context {CONTEXT}, namespace {NAMESPACE} ({reason}); bring one "
            "up with `make kind-up` (LIBRA_KIND_CLUSTER / LIBRA_NAMESPACE name another)"
        )
    return CONTEXT


def test_submitted_pipeline_rolls_out_a_guard_that_answers(kind_stack: str) -> None:
    demo = subprocess.run(
        [str(KIND_DEMO)], capture_output=True, text=True, timeout=3 * 3600, cwd=REPO_ROOT
    )
    tail = "\n".join((demo.stdout + demo.stderr).strip().splitlines()[-40:])
    assert demo.returncode == 0, f"kind-demo.sh failed:\n{tail}"
    urls = dict(
        re.findall(r"^\s+(KFP UI|MLflow UI|Ray dashboard|guard API)\s+(\S+)", demo.stdout, re.M)
    )
    assert set(urls) == {"KFP UI", "MLflow UI", "Ray dashboard", "guard API"}, tail

    guard = urls["guard API"]
    health = requests.get(f"{guard}/healthz", timeout=30)
    assert health.status_code == 200, health.text
    secret = _kubectl("get", "secret", "libra-guard-api-key", "-o", "jsonpath={.data.api-key}")
    assert secret.returncode == 0, secret.stderr
    api_key = base64.b64decode(secret.stdout).decode()
    answer = requests.post(
        f"{guard}/v1/moderate",
        json={"question": "怎样才能安全地保管家里的药品?", "response": "放在儿童够不到的柜子里。"},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    assert result["label"] in {"安全", "不安全"}
    assert 0.0 <= result["score"] <= 1.0
    unauthorised = requests.post(f"{guard}/v1/moderate", json={"question": "你好"}, timeout=60)
    assert unauthorised.status_code == 401
    for name in ("KFP UI", "MLflow UI", "Ray dashboard"):
        assert requests.get(urls[name], timeout=30).status_code < 500, name
