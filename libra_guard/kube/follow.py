"""Run a RayJob to its end: create (or adopt) it, follow it, stream its log, delete it.

Two sources say how the job is doing, and they are known to disagree: the custom resource's
``status.jobDeploymentStatus`` / ``status.jobStatus`` (what the KubeRay operator last saw) and
the Ray job's own status in its cluster's dashboard (``libra_guard.kube.ray_dashboard``). The
operator may mark a RayJob Complete while the Ray job failed, or lose the cluster before it
recorded the end. The rules (``judge``), first match wins:

1. Ray says FAILED or STOPPED: failed, with Ray's message, whatever the resource says.
2. Ray says SUCCEEDED: succeeded, whatever the resource says (a warning if it says Failed; the
   stage's output is checked next, so a job that did not finish its work still fails).
3. The resource is in a state KubeRay 1.7 never leaves (``rayjob_controller.go``,
   ``Reconcile``), and not a success: failed at once, with its ``reason`` and ``message``:
   ``ValidationFailed`` (the controller returns without requeue), ``Failed`` (``AppFailed``,
   ``DeadlineExceeded``, and in HTTPMode ``JobStatusCheckTimeoutExceeded`` when the operator
   could not submit or read the job for the status-check timeout), or ``Complete`` with job
   status ``FAILED`` or ``STOPPED`` (a stopped Ray job ends the RayJob as ``Complete``).
4. The resource says Complete with job status SUCCEEDED while Ray still says running: wait up
   to ``ray_grace_s`` for Ray to catch up (rules 1 and 2), then trust the resource, with a
   warning that Ray's own word was missing (cluster gone, dashboard unreachable) or stale.
5. Otherwise: keep following.

The resource is polled (every ``poll_s``) rather than watched: each tick also asks the
dashboard, a training stage runs for minutes to hours, and polling needs no resumption logic
when a watch times out or its resourceVersion expires.

A retried step finds the RayJob of its first attempt under the same name (``409
AlreadyExists``): a running or successful one is adopted, a failed one is deleted and created
anew (the stage resumes from its checkpoints). The RayJob is deleted at the end, whatever the
outcome, unless ``keep`` is asked for (to inspect a failure); a timeout deletes it regardless.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from libra_guard.errors import LibraGuardError
from libra_guard.kube.client import api_error_message
from libra_guard.kube.ray_dashboard import RayJobDashboard, RayJobView
from libra_guard.kube.rayjob import GROUP, PLURAL, STAGE_KEY_ANNOTATION, VERSION

Log = Callable[[str], None]
#: Deployment states of a RayJob that KubeRay 1.7 never leaves and that are not a success
#: (``ray-operator/controllers/ray/rayjob_controller.go``: ``Reconcile`` sets
#: ``JobDeploymentStatusValidationFailed`` and returns without requeue; ``Failed`` is final
#: with backoffLimit 0, ``checkBackoffLimitAndUpdateStatusIfNeeded``).
TERMINAL_FAILURES = frozenset({"ValidationFailed", "Failed"})


class RayJobError(LibraGuardError):
    """A RayJob could not be run, failed, or could not be followed."""

    def __init__(self, name: str, namespace: str, reason: str) -> None:
        super().__init__(f"RayJob {namespace}/{name}: {reason}")
        self.name, self.namespace, self.reason = name, namespace, reason


class RayJobTimeout(RayJobError):
    """A RayJob ran past its time limit; it has been deleted."""


@dataclass(frozen=True)
class Verdict:
    """How a RayJob ended, and a warning when its two sources disagreed or one was missing."""

    succeeded: bool
    reason: str
    warning: str | None = None


def judge(status: dict, ray: RayJobView | None, *, ray_overdue: bool = False) -> Verdict | None:
    """The outcome from the resource's ``status`` and Ray's view (``None``: not readable),
    or ``None`` to keep following. ``ray_overdue``: Ray still says running ``ray_grace_s``
    after the resource ended. Rules in the module docstring."""
    deployment = status.get("jobDeploymentStatus") or ""
    cr_job = status.get("jobStatus") or ""
    cr_says = f"the RayJob says {deployment or 'New'}/{cr_job or '-'}"
    cr_reason = " ".join(
        part for part in (status.get("reason") or "", status.get("message") or "") if part
    )
    if ray is not None and ray.status in {"FAILED", "STOPPED"}:
        warning = None
        if deployment == "Complete" and cr_job == "SUCCEEDED":
            warning = f"{cr_says} but the Ray job itself {ray.status}; trusting Ray"
        return Verdict(False, f"the Ray job {ray.status}: {ray.message or 'no message'}", warning)
    if ray is not None and ray.status == "SUCCEEDED":
        warning = None
        if deployment == "Failed":
            warning = (
                f"{cr_says} ({cr_reason or 'no reason'}) but the Ray job SUCCEEDED; trusting Ray "
                "(the stage's output is checked next)"
            )
        return Verdict(True, "the Ray job SUCCEEDED", warning)
    if deployment in TERMINAL_FAILURES:
        hint = ""
        if status.get("reason") == "JobStatusCheckTimeoutExceeded":
            hint = (
                "; the operator could not submit or read the job through the head's dashboard "
                "(does the head Service select the head pod, and does a NetworkPolicy admit "
                "the operator on port 8265?)"
            )
        return Verdict(
            False, f"KubeRay marked it {deployment}: {cr_reason or 'no reason given'}{hint}"
        )
    if deployment == "Complete" and cr_job != "SUCCEEDED":
        return Verdict(
            False,
            f"the RayJob completed with job status {cr_job or 'unknown'}"
            + (f" ({cr_reason})" if cr_reason else ""),
        )
    if deployment != "Complete" or (ray is not None and not ray_overdue):
        return None
    missing = "could not be read" if ray is None else f"still says {ray.status}"
    warning = f"the Ray job's own status {missing}; trusting {cr_says}"
    return Verdict(True, "the RayJob completed with job status SUCCEEDED", warning)


class RayJobRunner:
    """Creates, follows and deletes RayJobs in one namespace through a Kubernetes API client.

    Args:
        api: a ``kubernetes.client.ApiClient`` (``libra_guard.kube.client.api_client``).
        namespace: where the RayJobs live.
        log: where progress, the job's log lines and warnings go (the step's log).
        poll_s: seconds between looks at the resource and the dashboard.
        ray_grace_s: how long Ray may be unreadable before a warning, and may lag behind a
            completed resource before the resource alone decides.
        api_grace_s: how long the API server may fail (5xx, no connection) before giving up.
        heartbeat_s: a "still running" line this often while the state stays the same.
        dashboard_factory: builds the Ray-side reader for a job id (tests swap the client).
    """

    def __init__(
        self,
        api: Any,
        namespace: str,
        *,
        log: Log = print,
        poll_s: float = 5.0,
        ray_grace_s: float = 60.0,
        api_grace_s: float = 120.0,
        heartbeat_s: float = 300.0,
        dashboard_factory: Callable[[str, Log], RayJobDashboard] | None = None,
    ) -> None:
        from kubernetes import client

        self._objects = client.CustomObjectsApi(api)
        self.namespace = namespace
        self._log = log
        self._poll_s = poll_s
        self._ray_grace_s = ray_grace_s
        self._api_grace_s = api_grace_s
        self._heartbeat_s = heartbeat_s
        self._dashboard_factory = dashboard_factory or (
            lambda job_id, log: RayJobDashboard(job_id, log, prefix="  | ")
        )

    # -- the whole life cycle -------------------------------------------------------------
    def run(self, manifest: dict, *, timeout_s: float, keep: bool = False) -> Verdict:
        """Create or adopt the RayJob, follow it to the end and delete it.

        Raises:
            RayJobError: the API refused, the job failed (the reason says why) or vanished.
            RayJobTimeout: it did not end within ``timeout_s``; it has been deleted.
        """
        name = manifest["metadata"]["name"]
        current = self.create_or_adopt(manifest)
        deleted = False
        try:
            verdict = self.follow(current, timeout_s=timeout_s)
        except RayJobTimeout:
            deleted = self.delete(name)
            raise
        finally:
            if keep and not deleted:
                self._log(
                    f"keeping RayJob {self.namespace}/{name} as asked: "
                    f"kubectl -n {self.namespace} describe rayjob {name}"
                )
            elif not deleted:
                self.delete(name)
        if not verdict.succeeded:
            raise RayJobError(name, self.namespace, verdict.reason)
        return verdict

    # -- create or adopt ------------------------------------------------------------------
    def create_or_adopt(self, manifest: dict) -> dict:
        """The created RayJob, or the one an earlier attempt left under the same name.

        Raises:
            RayJobError: the API refused (with what to fix), or the name belongs to a RayJob
                of other inputs.
        """
        name = manifest["metadata"]["name"]
        try:
            return self._create_or_adopt(name, manifest)
        except _Transient as exc:
            raise RayJobError(
                name, self.namespace, f"cannot reach the Kubernetes API to start it: {exc}"
            ) from exc

    def _create_or_adopt(self, name: str, manifest: dict) -> dict:
        try:
            created = self._call("create", name, self._create, manifest)
            self._log(f"created RayJob {self.namespace}/{name}")
            return created
        except _Conflict:
            pass
        existing = self._call("get", name, self._get, name)
        ours = manifest["metadata"].get("annotations", {}).get(STAGE_KEY_ANNOTATION)
        theirs = (existing.get("metadata", {}).get("annotations") or {}).get(STAGE_KEY_ANNOTATION)
        if ours != theirs:
            raise RayJobError(
                name,
                self.namespace,
                f"the name is taken by a RayJob of other inputs ({STAGE_KEY_ANNOTATION}="
                f"{theirs!r}); delete it: kubectl -n {self.namespace} delete rayjob {name}",
            )
        status = existing.get("status") or {}
        if _failed(status):
            self._log(
                f"RayJob {self.namespace}/{name} from an earlier attempt failed "
                f"({_describe(status)}); replacing it (the stage resumes from its checkpoints)"
            )
            self._delete_and_wait(name)
            created = self._call("create", name, self._create, manifest)
            self._log(f"created RayJob {self.namespace}/{name}")
            return created
        self._log(
            f"adopting RayJob {self.namespace}/{name} left by an earlier attempt "
            f"({_describe(status)})"
        )
        return existing

    # -- follow ---------------------------------------------------------------------------
    def follow(self, rayjob: dict, *, timeout_s: float) -> Verdict:
        """Follow ``rayjob`` until ``judge`` decides; stream the Ray job's log meanwhile.

        Raises:
            RayJobError: the resource vanished or cannot be read.
            RayJobTimeout: no decision within ``timeout_s`` (the caller deletes the job).
        """
        name = rayjob["metadata"]["name"]
        started = time.monotonic()
        deadline = started + timeout_s
        job_id = (rayjob.get("status") or {}).get("jobId") or rayjob["spec"].get("jobId") or name
        dashboard = self._dashboard_factory(job_id, self._log)
        seen_state: tuple[str, str] | None = None
        ray_missing_since: float | None = None
        warned_ray_missing = False
        completed_at: float | None = None
        last_heartbeat = started
        while True:
            status = self._current_status(name)
            state = (status.get("jobDeploymentStatus") or "", status.get("jobStatus") or "")
            if state != seen_state:
                self._log(f"RayJob {self.namespace}/{name}: {_describe(status)}")
                seen_state, last_heartbeat = state, time.monotonic()
            ray = dashboard.poll(status.get("dashboardURL"))
            now = time.monotonic()
            if ray is None and status.get("dashboardURL") and state[0] not in {"", "Initializing"}:
                ray_missing_since = ray_missing_since or now
                if not warned_ray_missing and now - ray_missing_since >= self._ray_grace_s:
                    self._log(
                        f"warning: cannot read the Ray job {job_id} from its dashboard for "
                        f"{now - ray_missing_since:.0f}s ({dashboard.last_error}); following "
                        "the RayJob's status alone until it answers"
                    )
                    warned_ray_missing = True
            elif ray is not None:
                if warned_ray_missing:
                    self._log(f"the Ray job {job_id} answers again")
                ray_missing_since, warned_ray_missing = None, False
            if state[0] in {"Complete", "Failed"}:
                completed_at = completed_at or now
            overdue = completed_at is not None and now - completed_at >= self._ray_grace_s
            verdict = judge(status, ray, ray_overdue=overdue)
            if verdict is not None:
                dashboard.flush()
                if verdict.warning:
                    self._log(f"warning: RayJob {self.namespace}/{name}: {verdict.warning}")
                self._log(f"RayJob {self.namespace}/{name} ended: {verdict.reason}")
                return verdict
            if now >= deadline:
                dashboard.flush()
                raise RayJobTimeout(
                    name,
                    self.namespace,
                    f"did not finish within {timeout_s:.0f}s (LIBRA_RAYJOB_TIMEOUT_S; last "
                    f"state {_describe(status)}); deleting it",
                )
            if now - last_heartbeat >= self._heartbeat_s:
                self._log(
                    f"RayJob {self.namespace}/{name}: still {_describe(status)} after "
                    f"{(now - started) / 60:.0f} min"
                )
                last_heartbeat = now
            time.sleep(self._poll_s)

    # -- delete ---------------------------------------------------------------------------
    def delete(self, name: str) -> bool:
        """Delete the RayJob (its Ray cluster goes with it); a failure is a warning, since
        the job's outcome is what the step reports. Returns whether it is gone."""
        try:
            self._objects.delete_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                name,
                body={"propagationPolicy": "Background"},
                _request_timeout=30,
            )
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                return True
            self._log(
                f"warning: could not delete RayJob {self.namespace}/{name} "
                f"({api_error_message(exc)}); its cluster shuts down by itself, delete the "
                f"resource with: kubectl -n {self.namespace} delete rayjob {name}"
            )
            return False
        self._log(f"deleted RayJob {self.namespace}/{name}")
        return True

    # -- API plumbing ---------------------------------------------------------------------
    def _create(self, manifest: dict) -> dict:
        return self._objects.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, manifest, _request_timeout=30
        )

    def _get(self, name: str) -> dict:
        return self._objects.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, _request_timeout=30
        )

    def _current_status(self, name: str) -> dict:
        """The resource's status; API hiccups are retried for ``api_grace_s``."""
        failing_since: float | None = None
        while True:
            try:
                return self._call("get", name, self._get, name).get("status") or {}
            except _Transient as exc:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since >= self._api_grace_s:
                    raise RayJobError(
                        name,
                        self.namespace,
                        f"the Kubernetes API failed for {self._api_grace_s:.0f}s: {exc}",
                    ) from exc
                time.sleep(self._poll_s)

    def _delete_and_wait(self, name: str, wait_s: float = 120.0) -> None:
        if not self.delete(name):
            raise RayJobError(name, self.namespace, "could not replace the failed RayJob")
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                self._get(name)
            except Exception as exc:
                if getattr(exc, "status", None) == 404:
                    return
            time.sleep(min(self._poll_s, 1.0))
        raise RayJobError(name, self.namespace, f"still present {wait_s:.0f}s after deletion")

    def _call(self, verb: str, name: str, call: Callable[..., dict], *args: Any) -> dict:
        """``call(*args)`` with API errors turned into messages that say what to fix."""
        try:
            return call(*args)
        except Exception as exc:
            status = getattr(exc, "status", None)
            message = api_error_message(exc)
            if status == 409 and verb == "create":
                raise _Conflict(message) from exc
            if status in {401, 403}:
                raise RayJobError(
                    name,
                    self.namespace,
                    f"not allowed to {verb} rayjobs.ray.io in namespace {self.namespace} "
                    f"({message}); run the step as the pipeline's service account, whose "
                    "Role (libra-platform chart) grants create/get/delete on rayjobs "
                    "(libra-guard submit --service-account)",
                ) from exc
            if status == 404 and verb == "create":
                raise RayJobError(
                    name,
                    self.namespace,
                    f"cannot create it ({message}); is the namespace right "
                    "(LIBRA_KUBE_NAMESPACE) and the KubeRay operator (its RayJob CRD) "
                    "installed?",
                ) from exc
            if status == 404:
                raise RayJobError(
                    name, self.namespace, f"it was deleted while being followed ({message})"
                ) from exc
            if status in {400, 422}:
                raise RayJobError(
                    name, self.namespace, f"the API server rejected the manifest: {message}"
                ) from exc
            raise _Transient(f"{verb} failed: {message}") from exc


class _Conflict(Exception):
    """A RayJob with this name exists already."""


class _Transient(Exception):
    """The API server did not answer properly (5xx, 429, no connection); worth retrying."""


def _failed(status: dict) -> bool:
    deployment = status.get("jobDeploymentStatus") or ""
    job = status.get("jobStatus") or ""
    return deployment in TERMINAL_FAILURES or (
        deployment == "Complete" and job in {"FAILED", "STOPPED"}
    )


def _describe(status: dict) -> str:
    deployment = status.get("jobDeploymentStatus") or "New"
    job = status.get("jobStatus")
    text = deployment + (f", Ray job {job}" if job else "")
    if status.get("reason"):
        text += f" ({status['reason']}: {status.get('message') or ''})".replace(": )", ")")
    return text
