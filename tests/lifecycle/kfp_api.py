"""A loopback stand-in for the KFP v2beta1 REST API: the four calls ``kfp.Client`` makes to
create a recurring run (no KFP backend can run here). It answers as the upstream API server
does, each behaviour citing where upstream defines it, and records the requests it received.
"""

from __future__ import annotations

import json
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from tests.fakes.loopback import LoopbackHttp

PREFIX = "/apis/v2beta1"


class FakeKfpApi:
    """``with FakeKfpApi() as api: kfp.Client(host=api.url)``; ``api.requests`` lists
    ``(method, path, body)``; ``api.experiments`` and ``api.recurring_runs`` hold the state."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict | None]] = []
        self.experiments: dict[str, dict] = {}
        self.recurring_runs: dict[str, dict] = {}
        self._http = LoopbackHttp(self._handler())

    @property
    def url(self) -> str:
        return self._http.url

    def __enter__(self) -> FakeKfpApi:
        self._http.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._http.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                api._answer(self, "GET", None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                api._answer(self, "POST", json.loads(self.rfile.read(length) or b"{}"))

        return Handler

    def _answer(self, handler: BaseHTTPRequestHandler, method: str, body: dict | None) -> None:
        url = urlparse(handler.path)
        self.requests.append((method, url.path, body))
        status, reply = self._route(method, url.path, parse_qs(url.query), body)
        data = json.dumps(reply).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, method: str, path: str, query: dict, body: dict | None) -> tuple[int, dict]:
        if (method, path) == ("GET", f"{PREFIX}/healthz"):
            # backend/api/v2beta1/healthz.proto GetHealthzResponse: multi_user false in a
            # standalone deployment (the client then reads no namespace file).
            return 200, {"multi_user": False}
        if (method, path) == ("GET", f"{PREFIX}/experiments"):
            return 200, self._list_experiments(query)
        if (method, path) == ("POST", f"{PREFIX}/experiments"):
            return self._create_experiment(body or {})
        if (method, path) == ("POST", f"{PREFIX}/recurringruns"):
            return self._create_recurring_run(body or {})
        return 404, {"error": f"{method} {path} is not served", "code": 5}

    def _list_experiments(self, query: dict) -> dict:
        # backend/api/v2beta1/experiment.proto ListExperimentsRequest.filter: the client sends
        # an EQUALS predicate on display_name (kfp/client/client.py get_experiment).
        wanted = None
        for raw in query.get("filter", []):
            for predicate in json.loads(raw).get("predicates", []):
                if predicate.get("key") == "display_name":
                    wanted = predicate.get("string_value") or predicate.get("stringValue")
        found = [e for e in self.experiments.values() if wanted in (None, e["display_name"])]
        # ListExperimentsResponse omits empty repeated fields (proto3 JSON).
        return {"experiments": found, "total_size": len(found)} if found else {}

    def _create_experiment(self, body: dict) -> tuple[int, dict]:
        # backend/src/apiserver/server/experiment_server.go CreateExperiment: display_name
        # is required; the server assigns experiment_id and created_at.
        if not body.get("display_name"):
            return 400, {"error": "Experiment name is empty", "code": 3}
        experiment = {
            "experiment_id": str(uuid.uuid4()),
            "display_name": body["display_name"],
            "created_at": "2026-11-30T00:00:00Z",
            "storage_state": "AVAILABLE",
        }
        self.experiments[experiment["experiment_id"]] = experiment
        return 200, experiment

    def _create_recurring_run(self, body: dict) -> tuple[int, dict]:
        # backend/src/apiserver/server/recurring_run_server.go CreateRecurringRun with
        # backend/src/apiserver/server/util.go ValidateRecurringRun-style checks: a known
        # experiment, a pipeline (inline spec or version reference), exactly one trigger,
        # and a cron the scheduler's robfig/cron parser (seconds first, six fields) reads.
        if body.get("experiment_id") not in self.experiments:
            return 404, {"error": f"experiment {body.get('experiment_id')} not found", "code": 5}
        if not (body.get("pipeline_spec") or body.get("pipeline_version_reference")):
            return 400, {"error": "a pipeline spec or version reference is required", "code": 3}
        trigger = body.get("trigger") or {}
        if len([key for key in ("cron_schedule", "periodic_schedule") if key in trigger]) != 1:
            return 400, {"error": "exactly one of cron_schedule/periodic_schedule", "code": 3}
        cron = (trigger.get("cron_schedule") or {}).get("cron")
        if cron is not None and len(cron.split()) != 6:
            return 400, {"error": f"invalid cron schedule {cron!r}", "code": 3}
        created = dict(body)
        created.update(
            recurring_run_id=str(uuid.uuid4()),
            status="ENABLED" if body.get("mode", "ENABLE") == "ENABLE" else "DISABLED",
            created_at="2026-11-30T00:00:00Z",
        )
        self.recurring_runs[created["recurring_run_id"]] = created
        return 200, created
