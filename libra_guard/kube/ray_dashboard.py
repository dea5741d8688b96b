"""The Ray job's own view of itself: status, message and log, read from its cluster's dashboard.

A RayJob's custom resource reports what the KubeRay operator last saw, which can lag behind or
contradict what happened (see ``libra_guard.kube.follow``); the Ray dashboard's Jobs API is the
job's own account. This module reads it with Ray's ``JobSubmissionClient`` and never raises:
an unreachable dashboard or an unknown job is ``None`` plus the reason in ``last_error``, and
the follower decides what that means.

Logs are tailed by polling ``get_job_logs`` (the whole log) and emitting the text past what was
already emitted, line by line. For a training job's log (progress lines every few steps) that
stays small, and unlike the websocket tail it survives a dashboard restart or a flaky network
without losing or repeating lines.

Each call is bounded (``call_timeout_s``): Ray's client sets no HTTP timeout, and a dashboard
that accepts the connection but never answers must not stall the step. The bound is the HTTP
request's own timeout (``_TimedJobSubmissionClient``), not a watchdog thread: a thread given up
on would stay blocked on its socket, one more for every call that timed out.

A RayJob cluster runs with Ray token authentication (``RAY_AUTH_MODE=token``, KubeRay's
``authOptions``): the token from ``LIBRA_RAY_AUTH_TOKEN`` (the pipeline's Secret) goes with
every call as ``Authorization: Bearer``, the header Ray's dashboard checks
(``ray/_private/authentication/http_token_authentication.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Environment variable holding the Ray cluster's auth token (the pipeline's Secret).
RAY_TOKEN_ENV = "LIBRA_RAY_AUTH_TOKEN"
#: Ray job statuses after which nothing changes.
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


@dataclass(frozen=True)
class RayJobView:
    """One answer of the dashboard about the job."""

    status: str
    message: str

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


def auth_headers() -> dict[str, str]:
    """``Authorization: Bearer <token>`` when ``LIBRA_RAY_AUTH_TOKEN`` is set, else none."""
    token = os.environ.get(RAY_TOKEN_ENV, "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def _job_submission_client(address: str, timeout_s: float) -> Any:
    from ray.job_submission import JobSubmissionClient

    class _TimedJobSubmissionClient(JobSubmissionClient):
        """Ray's client with a timeout on every HTTP request it makes (``_do_request``
        forwards keyword arguments to ``requests.request``; ``dashboard_sdk.py``)."""

        def _do_request(self, method, endpoint, **kwargs):  # type: ignore[override]
            kwargs.setdefault("timeout", timeout_s)
            return super()._do_request(method, endpoint, **kwargs)

    return _TimedJobSubmissionClient(address, headers=auth_headers() or None)


class RayJobDashboard:
    """Reads one Ray job's status and streams its new log lines to ``log``."""

    def __init__(
        self,
        job_id: str,
        log: Callable[[str], None],
        *,
        prefix: str = "",
        call_timeout_s: float = 15.0,
        client_factory: Callable[[str, float], Any] = _job_submission_client,
    ) -> None:
        self.job_id = job_id
        self.last_error = ""
        self._log = log
        self._prefix = prefix
        self._timeout = call_timeout_s
        self._factory = client_factory
        self._clients: dict[str, Any] = {}
        self._emitted = 0
        self._partial = ""

    def poll(self, dashboard_url: str | None) -> RayJobView | None:
        """The job's status now (and its new log lines emitted), or ``None`` if the dashboard
        or the job cannot be read; ``last_error`` says why."""
        if not dashboard_url:
            self.last_error = "the RayJob reports no dashboard URL yet"
            return None
        address = dashboard_url if "://" in dashboard_url else f"http://{dashboard_url}"
        try:
            client = self._clients.get(address)
            if client is None:
                client = self._factory(address, self._timeout)
                self._clients[address] = client
            info = client.get_job_info(self.job_id)
            view = RayJobView(str(getattr(info.status, "value", info.status)), info.message or "")
        except Exception as exc:  # connection refused, 404 (job gone), timeouts, bad answers
            self._clients.pop(address, None)
            self.last_error = f"{address}: {_one_line(exc)}"
            return None
        try:
            text = client.get_job_logs(self.job_id)
        except Exception as exc:  # the status is still good; the log catches up next time
            self.last_error = f"{address} (log): {_one_line(exc)}"
        else:
            self._emit(text or "")
        self.last_error = ""
        return view

    def flush(self) -> None:
        """Emit a last log line that had no newline yet."""
        if self._partial:
            self._log(f"{self._prefix}{self._partial}")
            self._partial = ""

    def _emit(self, text: str) -> None:
        if len(text) < self._emitted:  # a new log (the job restarted): start over
            self._log(f"{self._prefix}(the Ray job's log restarted)")
            self._emitted, self._partial = 0, ""
        fresh = self._partial + text[self._emitted :]
        self._emitted = len(text)
        *lines, self._partial = fresh.split("\n")
        for line in lines:
            self._log(f"{self._prefix}{line.rstrip()}")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
