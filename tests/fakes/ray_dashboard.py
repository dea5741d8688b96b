"""An in-process HTTP stand-in for a Ray dashboard's Jobs API, for tests only.

It answers exactly what ``ray.job_submission.JobSubmissionClient`` asks when the follower
reads a job (see ``ray/dashboard/modules/job/sdk.py``):

- ``GET /api/version``: the version check the client makes when it is created;
- ``GET /api/jobs/{id}``: the job's details (status, message, entrypoint), 404 if unknown;
- ``GET /api/jobs/{id}/logs``: ``{"logs": <the whole log so far>}``.

A test sets a job's status and appends to its log (``set_job``, ``append_log``), or makes the
dashboard answer 503 to everything (``down = True``) to play a cluster that went away.
With ``token`` set it plays a cluster started with ``RAY_AUTH_MODE=token``: a request without
``Authorization: Bearer <token>`` gets 401, as Ray's dashboard answers
(``ray/_private/authentication/http_token_authentication.py``). Requests are recorded in
``requests``.

Usage::

    with FakeRayDashboard() as dashboard:
        dashboard.set_job("libra-stage1-abc", "RUNNING")
        status["dashboardURL"] = dashboard.address      # host:port, as KubeRay reports it
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import ray

from tests.fakes.loopback import LoopbackHttp


@dataclass
class FakeJob:
    status: str = "PENDING"
    message: str = ""
    logs: str = ""
    entrypoint: str = "python -m libra_guard.training.stage_job"


@dataclass
class FakeRayDashboard:
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    down: bool = False
    token: str | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._http = LoopbackHttp(_handler_for(self))

    @property
    def address(self) -> str:
        """``host:port`` without a scheme, the way KubeRay fills ``status.dashboardURL``."""
        return self._http.address

    def __enter__(self) -> FakeRayDashboard:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def set_job(self, job_id: str, status: str, message: str = "") -> None:
        with self._lock:
            job = self.jobs.setdefault(job_id, FakeJob())
            job.status, job.message = status, message

    def append_log(self, job_id: str, text: str) -> None:
        with self._lock:
            self.jobs.setdefault(job_id, FakeJob()).logs += text

    def forget(self, job_id: str) -> None:
        """The job is gone (a new cluster, or the dashboard's records lost)."""
        with self._lock:
            self.jobs.pop(job_id, None)

    def answer(self, path: str, authorization: str = "") -> tuple[int, dict]:
        with self._lock:
            self.requests.append(path)
            if self.down:
                return 503, {"error": "the dashboard is down"}
            if self.token and authorization != f"Bearer {self.token}":
                return 401, {"error": "Unauthorized: missing or invalid authentication token"}
            if path == "/api/version":
                return 200, {"version": "4", "ray_version": ray.__version__, "ray_commit": "x"}
            match = re.fullmatch(r"/api/jobs/([^/]+)(/logs)?", path)
            job = self.jobs.get(match[1]) if match else None
            if job is None:
                return 404, {"error": f"Job {path} does not exist"}
            if match[2]:
                return 200, {"logs": job.logs}
            return 200, {
                "type": "SUBMISSION",
                "job_id": None,
                "submission_id": match[1],
                "status": job.status,
                "entrypoint": job.entrypoint,
                "message": job.message,
            }


def _handler_for(dashboard: FakeRayDashboard) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            return

        def do_GET(self) -> None:
            code, payload = dashboard.answer(
                self.path.split("?")[0], self.headers.get("Authorization", "")
            )
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
