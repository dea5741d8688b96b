"""The training RayJob against KubeRay 1.7's own state machine (``KubeRayJobOperator``, each
rule citing the upstream function it copies): our manifest must let the operator reach the
head's dashboard, and the follower must stop at once on every terminal state.

``fake_kube`` stands in for the Kubernetes API server (none can run here)."""

from __future__ import annotations

import time

import pytest

from libra_guard.kube.follow import RayJobError, RayJobRunner
from libra_guard.kube.rayjob import build_rayjob, rayjob_name
from libra_guard.kube.wiring import RayJobPods
from tests.kube.kuberay import (
    KubeRayJobOperator,
    head_service_selector,
    label_pod,
    selects,
)

KEY = "0123456789abcdef01234567"
#: Far beyond what any case needs: reaching it means the follower missed a terminal state.
TIMEOUT_S = 30


def _manifest(name: str | None = None) -> dict:
    return build_rayjob(
        name=name or rayjob_name("stage1", KEY),
        namespace="ml",
        stage="stage1",
        key=KEY,
        spec_uri="s3://artifacts/stage-work/k/spec.json",
        image="registry.local/libra-guard:1.2.3",
        num_workers=1,
        use_gpu=False,
        timeout_s=3600,
        pods=RayJobPods(),
    )


def _runner(fake_kube, step_log) -> RayJobRunner:
    return RayJobRunner(fake_kube.api_client(), "ml", log=step_log, poll_s=0.02, ray_grace_s=5)


def test_the_head_service_selects_our_head_pod() -> None:
    manifest = _manifest()
    template = manifest["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]
    labels = label_pod("head", "c", "headgroup", template["metadata"]["labels"])
    assert selects(head_service_selector("c"), labels), labels


def test_a_job_run_by_the_operator_succeeds(fake_kube, dashboard, step_log) -> None:
    operator = KubeRayJobOperator(
        fake_kube, dashboard, [("RUNNING", ""), ("SUCCEEDED", "Job finished successfully.")]
    )
    verdict = _runner(fake_kube, step_log).run(_manifest(), timeout_s=TIMEOUT_S)
    assert verdict.succeeded, step_log.text
    assert operator.submitted == [rayjob_name("stage1", KEY)]


@pytest.mark.parametrize(
    ("ray_statuses", "expected"),
    [
        ([("RUNNING", ""), ("STOPPED", "Job was intentionally stopped.")], "STOPPED"),
        ([("RUNNING", ""), ("FAILED", "Traceback: ModelError")], "FAILED"),
    ],
)
def test_terminal_ray_states_fail_the_step(
    fake_kube, dashboard, step_log, ray_statuses, expected
) -> None:
    KubeRayJobOperator(fake_kube, dashboard, ray_statuses)
    with pytest.raises(RayJobError, match=expected):
        _runner(fake_kube, step_log).run(_manifest(), timeout_s=TIMEOUT_S)


def test_validation_failed_ends_the_step_at_once(fake_kube, dashboard, step_log) -> None:
    KubeRayJobOperator(fake_kube, dashboard, [])
    started = time.monotonic()
    with pytest.raises(RayJobError, match="ValidationFailed"):
        _runner(fake_kube, step_log).run(_manifest(name="Libra-Bad-Name"), timeout_s=TIMEOUT_S)
    assert time.monotonic() - started < TIMEOUT_S / 3


def test_an_unreachable_head_ends_in_the_status_check_timeout(
    fake_kube, dashboard, step_log
) -> None:
    # A pod label that overrides KubeRay's app.kubernetes.io/name: the head Service selects
    # nothing, HTTPMode submission fails until the status-check timeout.
    manifest = _manifest()
    template = manifest["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]
    template["metadata"]["labels"]["app.kubernetes.io/name"] = "libra-guard"
    KubeRayJobOperator(fake_kube, dashboard, [("SUCCEEDED", "")])
    with pytest.raises(RayJobError, match=r"JobStatusCheckTimeoutExceeded.*head Service"):
        _runner(fake_kube, step_log).run(manifest, timeout_s=TIMEOUT_S)
