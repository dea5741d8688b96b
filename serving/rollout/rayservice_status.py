"""Reading a KubeRay RayService's status: where an application is and how it is doing.

KubeRay reports each Serve application of the cluster that gets the traffic under
``status.activeServiceStatus.applicationStatuses`` and, during a zero-downtime upgrade, those
of the new cluster under ``pendingServiceStatus``. A failure on either side wins: the rollout
must stop at once with the application's own message rather than wait out its deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RUNNING = "RUNNING"
FAILED_STATES = ("DEPLOY_FAILED", "UNHEALTHY")
_EXCEPTION_LINE = re.compile(r"^\s*[\w.]+(Error|Exception): ")


@dataclass(frozen=True)
class AppState:
    """One application as the status reports it."""

    status: str | None  # None: not listed
    where: str  # "active", "pending" or ""
    reason: str = ""


def app_state(status: dict, app_name: str) -> AppState:
    """Where and how ``app_name`` appears in a RayService status; a failure anywhere wins,
    then the active cluster (which serves the traffic), then the pending one."""
    found = {
        where: ((status.get(f"{where}ServiceStatus") or {}).get("applicationStatuses") or {}).get(
            app_name
        )
        for where in ("active", "pending")
    }
    for where, app in found.items():
        if app and app.get("status") in FAILED_STATES:
            return AppState(app["status"], where, failure_reason(app))
    for where, app in found.items():
        if app:
            return AppState(app.get("status") or "UNKNOWN", where, str(app.get("message") or ""))
    return AppState(None, "")


def describe(state: AppState) -> str:
    if state.status is None:
        return "not listed yet"
    return state.status if state.where == "active" else f"{state.status} on the pending cluster"


def failure_reason(app: dict) -> str:
    """Why an application failed: the last exception line of its deployments' messages
    (e.g. ``ModelError: cannot load a causal LM from ...``), else its own message."""
    for deployment in (app.get("serveDeploymentStatuses") or {}).values():
        for line in reversed(str((deployment or {}).get("message") or "").splitlines()):
            if _EXCEPTION_LINE.match(line):
                return line.strip()[:600]
    return " ".join(str(app.get("message") or "no message").split())[:600]
