"""Running a RayJob to its end through the official ``kubernetes`` client.

``fake_kube`` is an in-process stand-in for a real Kubernetes API server (none can run here),
``KubeRayPlayer`` plays the KubeRay operator on it, and ``FakeRayDashboard`` stands in for the
Ray dashboard of the job's cluster, read with Ray's own ``JobSubmissionClient``.
"""

from __future__ import annotations

import time

import pytest

from libra_guard.errors import LibraGuardError
from libra_guard.kube.follow import RayJobError, RayJobRunner, RayJobTimeout, judge
from libra_guard.kube.ray_dashboard import RayJobView
from libra_guard.kube.rayjob import STAGE_KEY_ANNOTATION
from tests.kube.kuberay import GROUP, PLURAL, VERSION, KubeRayPlayer, Step, running, succeeded

NAME = "libra-stage1-0123456789abcdef"


def _manifest(key: str = "key-1") -> dict:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": NAME, "annotations": {STAGE_KEY_ANNOTATION: key}},
        "spec": {"entrypoint": "python -m libra_guard.training.stage_job", "jobId": NAME},
    }


def _patient(fake_kube, step_log) -> RayJobRunner:
    """A follower that gives Ray 10 s to catch up with the resource, so the disagreement
    tests decide on what the player does next, not on the machine's speed."""
    return RayJobRunner(fake_kube.api_client(), "ml", log=step_log, poll_s=0.02, ray_grace_s=10)


def _once_logged(step_log, text: str) -> Step:
    """A step that waits until the follower has logged ``text`` (it saw that state)."""

    def wait(obj: dict) -> None:
        deadline = time.monotonic() + 10
        while not any(text in line for line in step_log) and time.monotonic() < deadline:
            time.sleep(0.01)

    return Step(action=wait)


def _stored(fake_kube):
    return fake_kube.get_object(GROUP, VERSION, "ml", PLURAL, NAME)


def test_success_streams_the_job_log_and_deletes_the_job(
    fake_kube, dashboard, runner, step_log
) -> None:
    player = KubeRayPlayer(
        fake_kube,
        dashboard,
        [
            Step(status={"jobDeploymentStatus": "Initializing"}),
            running("stage1: step 10/40 loss 2.31\n"),
            Step(log="stage1: step 20/40 loss 1.9"),  # no newline yet: held back
            Step(log="8\nstage1: step 40/40 loss 1.52\n"),
            *succeeded("stage_job: stage1 model uploaded (5 files)\n"),
        ],
    )
    verdict = runner.run(_manifest(), timeout_s=30)
    assert verdict.succeeded and verdict.warning is None
    job_lines = [line for line in step_log if line.startswith("  | ")]
    assert job_lines == [
        "  | stage1: step 10/40 loss 2.31",
        "  | stage1: step 20/40 loss 1.98",
        "  | stage1: step 40/40 loss 1.52",
        "  | stage_job: stage1 model uploaded (5 files)",
    ]
    assert f"created RayJob ml/{NAME}" in step_log
    assert any("Running, Ray job RUNNING" in line for line in step_log)
    assert player.deleted == [NAME] and _stored(fake_kube) is None


def test_ray_failure_wins_over_a_resource_that_says_succeeded(
    fake_kube, dashboard, runner, step_log
) -> None:
    KubeRayPlayer(
        fake_kube,
        dashboard,
        [
            running(),
            Step(status={"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}),
            _once_logged(step_log, "Complete, Ray job SUCCEEDED"),
            Step(ray=("FAILED", "Job entrypoint command failed with exit code 1: CUDA OOM")),
        ],
    )
    with pytest.raises(RayJobError) as caught:
        _patient(fake_kube, step_log).run(_manifest(), timeout_s=30)
    assert "CUDA OOM" in str(caught.value)
    assert f"ml/{NAME}" in str(caught.value)
    assert any("but the Ray job itself FAILED; trusting Ray" in line for line in step_log)
    assert _stored(fake_kube) is None


def test_ray_success_wins_over_a_resource_that_says_failed() -> None:
    # The resource's Failed is final and fails at once (rule 3), unless Ray's own answer at
    # that moment already says SUCCEEDED (rule 2): the stage's output is checked next.
    status = {
        "jobDeploymentStatus": "Failed",
        "reason": "JobDeploymentStatusTransitionGracePeriodExceeded",
        "message": "the submitter did not finish in time",
    }
    verdict = judge(status, RayJobView("SUCCEEDED", "Job finished successfully."))
    assert verdict is not None and verdict.succeeded
    assert "JobDeploymentStatusTransitionGracePeriodExceeded" in (verdict.warning or "")


def test_a_failed_job_fails_with_the_operators_reason(fake_kube, dashboard, runner) -> None:
    KubeRayPlayer(
        fake_kube,
        dashboard,
        [
            running(),
            Step(
                status={
                    "jobDeploymentStatus": "Failed",
                    "reason": "DeadlineExceeded",
                    "message": "The RayJob has passed the activeDeadlineSeconds.",
                }
            ),
        ],
    )
    with pytest.raises(LibraGuardError, match="DeadlineExceeded") as caught:
        runner.run(_manifest(), timeout_s=30)
    assert caught.value.name == NAME and caught.value.namespace == "ml"
    assert _stored(fake_kube) is None


def test_timeout_deletes_the_job_even_when_asked_to_keep_it(
    fake_kube, dashboard, runner, step_log
) -> None:
    player = KubeRayPlayer(fake_kube, dashboard, [running("still training\n")])
    with pytest.raises(RayJobTimeout, match="did not finish within 1s"):
        runner.run(_manifest(), timeout_s=1, keep=True)
    assert player.deleted == [NAME] and _stored(fake_kube) is None
    assert "  | still training" in step_log


def test_keep_leaves_a_failed_job_for_inspection(fake_kube, dashboard, runner, step_log) -> None:
    KubeRayPlayer(fake_kube, dashboard, [running(), Step(ray=("FAILED", "boom"))])
    with pytest.raises(RayJobError, match="boom"):
        runner.run(_manifest(), timeout_s=30, keep=True)
    assert _stored(fake_kube) is not None
    assert any("kubectl -n ml describe rayjob" in line for line in step_log)


def test_unreadable_dashboard_leaves_the_decision_to_the_resource_with_a_warning(
    fake_kube, dashboard, runner, step_log
) -> None:
    dashboard.down = True
    KubeRayPlayer(
        fake_kube,
        dashboard,
        [running(), *[Step() for _ in range(10)], *succeeded()],
    )
    verdict = runner.run(_manifest(), timeout_s=30)
    assert verdict.succeeded
    assert "could not be read" in (verdict.warning or "")
    assert any("cannot read the Ray job" in line and "503" in line for line in step_log)


def test_forbidden_by_the_role_is_a_clear_error(fake_kube, runner) -> None:
    fake_kube.fail_next(
        "POST",
        "/rayjobs$",
        403,
        'rayjobs.ray.io is forbidden: User "system:serviceaccount:ml:default" cannot create',
    )
    with pytest.raises(RayJobError) as caught:
        runner.run(_manifest(), timeout_s=5)
    message = str(caught.value)
    assert "not allowed to create rayjobs.ray.io in namespace ml" in message
    assert "system:serviceaccount:ml:default" in message
    assert "--service-account" in message


def test_a_running_job_of_an_earlier_attempt_is_adopted(
    fake_kube, dashboard, runner, step_log
) -> None:
    earlier = _manifest()
    earlier["status"] = {"jobDeploymentStatus": "Running", "dashboardURL": dashboard.address}
    fake_kube.put_object(GROUP, VERSION, "ml", PLURAL, earlier)
    uid = _stored(fake_kube)["metadata"]["uid"]
    dashboard.set_job(NAME, "RUNNING")
    dashboard.append_log(NAME, "resumed at step 30\n")
    dashboard.set_job(NAME, "SUCCEEDED", "Job finished successfully.")

    verdict = runner.run(_manifest(), timeout_s=30)
    assert verdict.succeeded
    assert any(f"adopting RayJob ml/{NAME}" in line for line in step_log)
    assert "  | resumed at step 30" in step_log
    created = [r for r in fake_kube.writes(PLURAL) if r.method == "POST"]
    assert len(created) == 1  # the refused create; no twin was made
    deleted = [r for r in fake_kube.writes(PLURAL) if r.method == "DELETE"]
    assert len(deleted) == 1 and uid  # the adopted one is cleaned up


def test_a_failed_job_of_an_earlier_attempt_is_replaced(
    fake_kube, dashboard, runner, step_log
) -> None:
    earlier = _manifest()
    earlier["status"] = {"jobDeploymentStatus": "Failed", "reason": "AppFailed"}
    fake_kube.put_object(GROUP, VERSION, "ml", PLURAL, earlier)
    player = KubeRayPlayer(fake_kube, dashboard, [running(), *succeeded()])
    assert runner.run(_manifest(), timeout_s=30).succeeded
    assert player.created == [NAME]
    assert any("from an earlier attempt failed (Failed (AppFailed))" in line for line in step_log)


def test_a_name_taken_by_other_inputs_is_not_adopted(fake_kube, runner) -> None:
    fake_kube.put_object(GROUP, VERSION, "ml", PLURAL, _manifest(key="other-inputs"))
    with pytest.raises(RayJobError, match="taken by a RayJob of other inputs"):
        runner.run(_manifest(), timeout_s=5)
    assert _stored(fake_kube) is not None  # not ours to delete


def test_api_hiccups_are_retried_and_cleanup_follows_any_error(
    fake_kube, dashboard, runner
) -> None:
    fake_kube.fail_next("GET", f"/rayjobs/{NAME}$", 500, "etcdserver: request timed out")
    player = KubeRayPlayer(fake_kube, dashboard, [running(), *[Step() for _ in range(40)]])
    fake_kube.fail_next("GET", f"/rayjobs/{NAME}$", 403, "forbidden", times=1000)
    with pytest.raises(RayJobError, match=r"not allowed to get rayjobs\.ray\.io"):
        runner.run(_manifest(), timeout_s=30)
    assert player.deleted == [NAME]


def test_a_job_deleted_by_someone_else_is_an_error(fake_kube, dashboard, runner) -> None:
    def delete(obj: dict) -> None:
        fake_kube.handle("DELETE", f"/apis/ray.io/v1/namespaces/ml/rayjobs/{NAME}", "", None)

    KubeRayPlayer(fake_kube, dashboard, [running(), Step(action=delete), *[Step()] * 20])
    with pytest.raises(RayJobError, match="deleted while being followed"):
        runner.run(_manifest(), timeout_s=30)


@pytest.mark.parametrize(
    ("status", "ray", "overdue", "expected"),
    [
        ({"jobDeploymentStatus": "Running"}, RayJobView("RUNNING", ""), False, None),
        ({"jobDeploymentStatus": "Running"}, RayJobView("STOPPED", "stopped"), False, False),
        ({"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}, None, False, True),
        ({"jobDeploymentStatus": "Complete", "jobStatus": "FAILED"}, None, False, False),
        (
            {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"},
            RayJobView("RUNNING", ""),
            False,
            None,
        ),
        (
            {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"},
            RayJobView("RUNNING", ""),
            True,
            True,
        ),
        ({"jobDeploymentStatus": "Failed", "reason": "AppFailed"}, None, False, False),
        # Terminal states fail at once, whatever a stale dashboard answer says
        # (rayjob_controller.go: ValidationFailed returns without requeue; Failed is final;
        # a STOPPED Ray job ends the RayJob as Complete).
        ({"jobDeploymentStatus": "Failed"}, RayJobView("RUNNING", ""), False, False),
        ({"jobDeploymentStatus": "ValidationFailed"}, None, False, False),
        ({"jobDeploymentStatus": "ValidationFailed"}, RayJobView("PENDING", ""), False, False),
        (
            {"jobDeploymentStatus": "Complete", "jobStatus": "STOPPED"},
            RayJobView("RUNNING", ""),
            False,
            False,
        ),
        (
            {"jobDeploymentStatus": "Failed", "reason": "JobStatusCheckTimeoutExceeded"},
            None,
            False,
            False,
        ),
        ({"jobDeploymentStatus": "Initializing"}, None, False, None),
    ],
)
def test_judge_rules(status: dict, ray, overdue: bool, expected) -> None:
    verdict = judge(status, ray, ray_overdue=overdue)
    assert (None if verdict is None else verdict.succeeded) == expected
