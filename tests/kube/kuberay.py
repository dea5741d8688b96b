"""Plays the KubeRay operator in the fake API server (a stand-in for a real API server, see
``tests/fakes/kube_api.py``) and, through the fake dashboard, the Ray job itself.

When a RayJob is created, a thread walks through ``steps``: each may write the resource's
status (as the operator would), set the Ray job's status in the dashboard and append to its
log. The walk stops when the RayJob is deleted, which is recorded in ``deleted``.

``KubeRayJobOperator`` instead plays KubeRay 1.7's actual RayJob state machine (validation,
head Service selection, HTTPMode submission and its status-check timeout, the mapping of Ray
job states), each rule citing the upstream file and function it copies.
"""

from __future__ import annotations

import re
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


# -- KubeRay 1.7's own rules, copied from its source (tag v1.7.0) ---------------------------

KUBERAY_APP_NAME = "kuberay"  # utils.ApplicationName
KUBERAY_CREATED_BY = "kuberay-operator"  # utils.ComponentName
#: utils.MaxRayJobNameLength (ray-operator/controllers/ray/utils/constant.go).
MAX_RAYJOB_NAME = 47
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def label_pod(node_type: str, cluster: str, group: str, template_labels: dict) -> dict:
    """The labels KubeRay puts on a Ray pod (``common/pod.go``, ``labelPod``): its own, then
    the template's on top, except ray.io/node-type, ray.io/group and ray.io/cluster."""
    labels = {
        "ray.io/is-ray-node": "yes",
        "ray.io/cluster": cluster,
        "ray.io/node-type": node_type,
        "ray.io/group": group,
        "ray.io/identifier": f"{cluster}-{node_type}",
        "app.kubernetes.io/name": KUBERAY_APP_NAME,
        "app.kubernetes.io/created-by": KUBERAY_CREATED_BY,
    }
    fixed = {"ray.io/node-type", "ray.io/group", "ray.io/cluster"}
    labels.update({k: v for k, v in template_labels.items() if k not in fixed})
    return labels


def head_service_selector(cluster: str) -> dict:
    """The head Service's selector (``common/service.go``, ``HeadServiceLabels``): it
    includes ``app.kubernetes.io/name: kuberay``, which a template label can override on the
    pod (kuberay issue 2648)."""
    return {
        "ray.io/cluster": cluster,
        "ray.io/node-type": "head",
        "ray.io/identifier": f"{cluster}-head",
        "app.kubernetes.io/name": KUBERAY_APP_NAME,
        "app.kubernetes.io/created-by": KUBERAY_CREATED_BY,
    }


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def validate_rayjob(obj: dict) -> str | None:
    """The error ``validateRayJob`` gives (``utils/validation.go``,
    ``ValidateRayJobMetadata``/``ValidateRayJobSpec``), for the rules our manifests touch."""
    name = obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    if len(name) > MAX_RAYJOB_NAME:
        return (
            "The RayJob metadata is invalid: RayJob name should be no more than "
            f"{MAX_RAYJOB_NAME} characters"
        )
    if not _DNS1035.match(name):
        return "The RayJob metadata is invalid: RayJob name should be a valid DNS1035 label"
    if int(spec.get("ttlSecondsAfterFinished") or 0) < 0:
        return "The RayJob spec is invalid: TTLSecondsAfterFinished must be a non-negative integer"
    if not spec.get("rayClusterSpec") and not spec.get("clusterSelector"):
        return "The RayJob spec is invalid: one of RayClusterSpec or ClusterSelector must be set"
    return None


#: Where an unreachable dashboard "is": connections are refused at once.
UNREACHABLE = "127.0.0.1:1"


@dataclass
class KubeRayJobOperator:
    """KubeRay 1.7's RayJob state machine for HTTPMode jobs
    (``ray-operator/controllers/ray/rayjob_controller.go``, ``Reconcile``), on the fake API
    server; the Ray job itself is ``ray_statuses`` played in the fake dashboard.

    - validation first: an invalid RayJob becomes ``ValidationFailed`` with reason
      ``ValidationFailed`` and is never reconciled again (the controller returns without
      requeue);
    - ``Initializing`` (the cluster is made), then ``Running`` with ``dashboardURL`` = the
      head Service (``utils.FetchHeadServiceURL``): reachable only if that Service's selector
      matches the head pod's labels (``HeadServiceLabels`` vs ``labelPod``);
    - in ``Running`` the operator asks the dashboard for the job and, not found, submits it
      over HTTP (``reconcileHTTPModeJobNotFound``); each failure starts the status-check
      timer (``recordJobStatusCheckFailure``), and once it passes
      ``status_check_timeout_s`` the RayJob is ``Failed`` with reason
      ``JobStatusCheckTimeoutExceeded`` (``checkJobStatusCheckTimeoutAndUpdateStatusIfNeeded``);
    - the Ray job's status is copied into ``jobStatus``; a terminal one ends the RayJob:
      ``FAILED`` -> ``Failed``/``AppFailed``, ``SUCCEEDED`` and ``STOPPED`` -> ``Complete``.
    """

    api: FakeKubeApi
    dashboard: FakeRayDashboard
    ray_statuses: list[tuple[str, str]]
    namespace: str = "ml"
    tick_s: float = 0.03
    status_check_timeout_s: float = 0.6
    deleted: list[str] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api.on(PLURAL, self._react)

    def _react(self, api: FakeKubeApi, verb: str, obj: dict) -> None:
        if verb == "delete":
            self.deleted.append(obj["metadata"]["name"])
        elif verb == "create":
            threading.Thread(target=self._reconcile, args=(obj,), daemon=True).start()

    def _set(self, name: str, **values) -> bool:
        def change(obj: dict) -> None:
            obj.setdefault("status", {}).update(values)

        try:
            self.api.update_stored(GROUP, VERSION, self.namespace, PLURAL, name, change)
        except KeyError:
            return False
        return True

    def _reconcile(self, obj: dict) -> None:
        name = obj["metadata"]["name"]
        error = validate_rayjob(obj)
        if error:
            self._set(
                name,
                jobDeploymentStatus="ValidationFailed",
                reason="ValidationFailed",
                message=error,
            )
            return
        job_id = obj["spec"].get("jobId") or name
        cluster = f"{name}-raycluster"
        head = obj["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]
        head_labels = label_pod("head", cluster, "headgroup", head["metadata"].get("labels", {}))
        reachable = selects(head_service_selector(cluster), head_labels)
        url = self.dashboard.address if reachable else UNREACHABLE
        time.sleep(self.tick_s)
        if not self._set(name, jobDeploymentStatus="Initializing", jobId=job_id):
            return
        time.sleep(self.tick_s)
        if not self._set(name, jobDeploymentStatus="Running", dashboardURL=url):
            return
        failing_since: float | None = None
        statuses = list(self.ray_statuses)
        while name not in self.deleted:
            time.sleep(self.tick_s)
            if not reachable:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since >= self.status_check_timeout_s:
                    self._set(
                        name,
                        jobDeploymentStatus="Failed",
                        reason="JobStatusCheckTimeoutExceeded",
                        message="Job status checks have been failing; exceeded timeout",
                    )
                    return
                continue
            if job_id not in self.submitted:
                self.submitted.append(job_id)
                self.dashboard.set_job(job_id, "PENDING")
                continue
            if statuses:
                self.dashboard.set_job(job_id, *statuses.pop(0))
            job = self.dashboard.jobs[job_id]
            terminal = job.status in {"SUCCEEDED", "FAILED", "STOPPED"}
            deployment = "Running"
            reason = ""
            if terminal:
                deployment = "Failed" if job.status == "FAILED" else "Complete"
                reason = "AppFailed" if job.status == "FAILED" else ""
            if (
                not self._set(
                    name,
                    jobDeploymentStatus=deployment,
                    jobStatus=job.status,
                    reason=reason,
                    message=job.message,
                )
                or terminal
            ):
                return
