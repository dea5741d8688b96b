"""Reading a RayService status the way KubeRay writes it (shapes from the v1 CRD)."""

from __future__ import annotations

from serving.rollout.rayservice_status import app_state, describe


def _status(active: dict | None = None, pending: dict | None = None) -> dict:
    status: dict = {}
    if active is not None:
        status["activeServiceStatus"] = {"applicationStatuses": active}
    if pending is not None:
        status["pendingServiceStatus"] = {"applicationStatuses": pending}
    return status


def test_an_app_running_on_the_active_cluster_is_running() -> None:
    state = app_state(_status(active={"libra-guard-v2": {"status": "RUNNING"}}), "libra-guard-v2")
    assert (state.status, state.where) == ("RUNNING", "active")
    assert describe(state) == "RUNNING"


def test_a_failure_on_the_pending_cluster_wins_and_carries_the_exception_line() -> None:
    failed = {
        "status": "DEPLOY_FAILED",
        "message": "Deploying app failed.",
        "serveDeploymentStatuses": {
            "GuardModel": {
                "status": "UNHEALTHY",
                "message": "Traceback (most recent call last):\n  File x\n"
                "libra_guard.errors.ModelError: cannot load a causal LM from /models/v2\n",
            }
        },
    }
    status = _status(active={"v2": {"status": "DEPLOYING"}}, pending={"v2": failed})
    state = app_state(status, "v2")
    assert (state.status, state.where) == ("DEPLOY_FAILED", "pending")
    assert state.reason == "libra_guard.errors.ModelError: cannot load a causal LM from /models/v2"
    assert describe(state) == "DEPLOY_FAILED on the pending cluster"


def test_an_app_nobody_lists_is_not_listed_yet() -> None:
    state = app_state(_status(active={"other": {"status": "RUNNING"}}), "v2")
    assert state.status is None and describe(state) == "not listed yet"
