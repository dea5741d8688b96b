"""Plays the KubeRay operator in the fake API server (a stand-in for a real API server, see
``tests/fakes/kube_api.py``) and, through the fake dashboard, the Ray job itself.

When a RayJob is created, a thread walks through ``steps``: each may write the resource's
status (as the operator would), set the Ray job's status in the dashboard and append to its
log. The walk stops when the RayJob is deleted, which is recorded in ``deleted``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fakes.kube_api import FakeKubeApi
from tests.fakes.ray_dashboard import FakeRayDashboard

GROUP, VERSION, PLURAL = "ray.io", "v1", "rayjobs"


@dataclass(frozen=True)
class Step:
    """One moment of a RayJob's life; ``None`` leaves that side as it is. In ``status``,
    the value ``DASHBOARD`` is replaced by the fake dashboard's address."""

    status: dict | None = None
    ray: tuple[str, str] | None = None
    log: str | None = None
    action: Callable[[dict], None] | None = None


DASHBOARD = "<dashboard>"


def running(log: str = "") -> Step:
    return Step(
        status={
            "jobDeploymentStatus": "Running",
            "jobStatus": "RUNNING",
            "dashboardURL": DASHBOARD,
        },
        ray=("RUNNING", ""),
        log=log or None,
    )


def succeeded(log: str = "") -> list[Step]:
    return [
        Step(ray=("SUCCEEDED", "Job finished successfully."), log=log or None),
        Step(status={"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}),
    ]


@dataclass
class KubeRayPlayer:
    api: FakeKubeApi
    dashboard: FakeRayDashboard
    steps: list[Step]
    namespace: str = "ml"
    interval_s: float = 0.05
    hold_last: bool = True
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api.on(PLURAL, self._react)

    def _react(self, api: FakeKubeApi, verb: str, obj: dict) -> None:
        name = obj["metadata"]["name"]
        if verb == "delete":
            self.deleted.append(name)
        elif verb == "create":
            self.created.append(name)
            threading.Thread(target=self._play, args=(obj,), daemon=True).start()

    def _play(self, obj: dict) -> None:
        name = obj["metadata"]["name"]
        job_id = obj["spec"].get("jobId") or name
        for step in self.steps:
            time.sleep(self.interval_s)
            if (
                name in self.deleted
                and self.api.get_object(GROUP, VERSION, self.namespace, PLURAL, name) is None
            ):
                return
            if step.ray is not None:
                self.dashboard.set_job(job_id, *step.ray)
            if step.log:
                self.dashboard.append_log(job_id, step.log)
            if step.action is not None:
                step.action(obj)
            if step.status is not None:
                self._write_status(name, step.status)

    def _write_status(self, name: str, status: dict) -> None:
        values = {
            key: (self.dashboard.address if value == DASHBOARD else value)
            for key, value in status.items()
        }

        def change(obj: dict) -> None:
            obj.setdefault("status", {}).update(values)

        try:
            self.api.update_stored(GROUP, VERSION, self.namespace, PLURAL, name, change)
        except KeyError:  # deleted meanwhile
            return
