"""A stand-in for the serving side of a KubeRay RayService, for tests only: the operator's
reaction to ``serveConfigV2`` edits, and the guard API its Serve proxies answer.

No Kubernetes cluster runs where the tests run. ``FakeGuardCluster`` plugs into
``FakeKubeApi`` (``kube_api.py``, the stand-in for the API server) as a reactor that plays
KubeRay: after every write to the RayService it reads ``spec.serveConfigV2`` and sets
``status.observedGeneration`` and ``status.activeServiceStatus.applicationStatuses``, each
application ``RUNNING`` unless the test put another state in ``outcomes`` (``DEPLOY_FAILED``
with a message, ``DEPLOYING`` for one that never comes up). ``lag_s`` delays that, as a real
operator's reconcile loop does. It also serves the guard's HTTP API on loopback, from what
the status says runs, the way Serve's proxy routes:

- ``GET /v1/model``: the facts (``user_config.model``) of the model application the API
  application on ``/`` sends traffic to;
- ``POST <route prefix>/v1/moderate``: P(不安全) from ``score(model_app, question, response)``,
  through the API application whose ``route_prefix`` matches longest (``/`` or a smoke route).

Like KubeRay 1.7, a write is seen in two passes: the controller reads the Serve status before
it updates the applications and sets ``observedGeneration`` in that same pass, with the old
statuses (``rayservice_controller.go``, ``reconcileServe`` and ``calculateStatus``); the new
config's statuses, and the routing the proxy then does, come a pass later (``lag_s`` after the
first). So ``observedGeneration`` alone never proves a config is applied. The HTTP side answers
from the config as last applied, not as last written.

An application that is not ``RUNNING`` answers 503; ``not_routed`` answers the next requests
404, like a proxy that has not learned a new route yet. Every request is kept in
``requests``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import yaml

from serving.rollout.serve_config import (
    API_IMPORT_PATH,
    applications_of,
    model_app_of,
    model_of,
)
from tests.fakes.kube_api import FakeKubeApi
from tests.fakes.loopback import LoopbackHttp

GROUP, VERSION, PLURAL = "ray.io", "v1", "rayservices"
Scorer = Callable[[str, str, str], float]


class FakeGuardCluster:
    """KubeRay plus the guard's Serve proxy for one RayService; a context manager."""

    def __init__(
        self,
        kube: FakeKubeApi,
        namespace: str,
        name: str,
        score: Scorer,
        *,
        api_key: str | None = None,
    ) -> None:
        self.kube, self.namespace, self.name = kube, namespace, name
        self.score = score
        self.api_key = api_key
        self.outcomes: dict[str, tuple[str, str]] = {}
        self.lag_s = 0.0
        #: The next this many requests are answered 404, as by a proxy that has not yet
        #: learned a new route.
        self.not_routed = 0
        self.requests: list[tuple[str, str]] = []
        self._applied: str | None = None  # serveConfigV2 as of the last full reconcile
        self._http = LoopbackHttp(_handler_for(self))

    @property
    def url(self) -> str:
        return self._http.url

    def __enter__(self) -> FakeGuardCluster:
        self.kube.on(PLURAL, self._react)
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def create_rayservice(self, serve_config: str) -> None:
        """Store the RayService (as the chart would) and let the operator bring it up."""
        obj = {
            "apiVersion": "ray.io/v1",
            "kind": "RayService",
            "metadata": {"name": self.name},
            "spec": {"serveConfigV2": serve_config, "rayClusterConfig": {}},
        }
        stored = self.kube.put_object(GROUP, VERSION, self.namespace, PLURAL, obj)
        self._react(self.kube, "create", stored)

    def serve_config(self) -> str:
        return self._stored()["spec"]["serveConfigV2"]

    # -- the operator ---------------------------------------------------------------------
    def _react(self, kube: FakeKubeApi, verb: str, obj: dict) -> None:
        if verb == "delete" or obj["metadata"]["name"] != self.name:
            return
        # First pass: the generation is observed, the statuses are still the old ones.
        generation = obj["metadata"]["generation"]
        self.kube.update_stored(
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            self.name,
            lambda stored: stored.setdefault("status", {}).update(observedGeneration=generation),
        )
        if self.lag_s > 0:
            threading.Timer(self.lag_s, self._reconcile, (obj,)).start()
        else:
            self._reconcile(obj)

    def _reconcile(self, obj: dict) -> None:
        document = yaml.safe_load(obj["spec"]["serveConfigV2"])
        statuses = {}
        for name, app in applications_of(document).items():
            state, message = self.outcomes.get(name, ("RUNNING", ""))
            healthy = state == "RUNNING"
            statuses[name] = {
                "status": state,
                "message": "" if healthy else f"Deploying app '{name}' failed.",
                "serveDeploymentStatuses": {
                    deployment["name"]: {
                        "status": "HEALTHY" if healthy else "UNHEALTHY",
                        "message": message,
                    }
                    for deployment in app.get("deployments", [])
                },
            }

        def set_status(stored: dict) -> None:
            stored["status"] = {
                "observedGeneration": obj["metadata"]["generation"],
                "serviceStatus": "Running",
                "activeServiceStatus": {
                    "rayClusterName": f"{self.name}-raycluster",
                    "applicationStatuses": statuses,
                },
                "pendingServiceStatus": {},
            }

        self.kube.update_stored(GROUP, VERSION, self.namespace, PLURAL, self.name, set_status)
        self._applied = obj["spec"]["serveConfigV2"]

    # -- the guard's HTTP API ---------------------------------------------------------------
    def answer(self, method: str, path: str, headers: dict, body: object) -> tuple[int, dict]:
        self.requests.append((method, path))
        if self.not_routed > 0:
            self.not_routed -= 1
            return 404, {"error": "not_found", "message": f"Path '{path}' not found"}
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {"error": "unauthorized", "message": "the API key is not valid"}
        obj = self._stored()
        apps = applications_of(yaml.safe_load(self._applied or obj["spec"]["serveConfigV2"]))
        running = {
            name
            for name, app in (obj.get("status") or {})
            .get("activeServiceStatus", {})
            .get("applicationStatuses", {})
            .items()
            if app["status"] == "RUNNING"
        }
        ingress, rest = _route(apps, path)
        if ingress is None:
            return 404, {"error": "not_found", "message": f"no application serves {path}"}
        model_app = model_app_of(ingress)
        if ingress["name"] not in running or model_app not in running:
            return 503, {"error": "model_unavailable", "message": f"{model_app} is not running"}
        facts = model_of(apps[model_app]).to_dict()
        if method == "GET" and rest == "/v1/model":
            return 200, {**facts, "source": apps[model_app]["args"]["model"]}
        if method == "POST" and rest == "/v1/moderate":
            results = []
            for item in body["items"]:
                score = self.score(model_app, item["question"], item["response"])
                unsafe = score >= 0.5
                results.append(
                    {
                        "verdict": "unsafe" if unsafe else "safe",
                        "label": "不安全" if unsafe else "安全",
                        "score": score,
                        "task": "response",
                        "model": {"name": facts["name"], "version": facts["version"]},
                    }
                )
            return 200, {"results": results}
        return 404, {"error": "not_found", "message": f"no route {method} {rest}"}

    def _stored(self) -> dict:
        obj = self.kube.get_object(GROUP, VERSION, self.namespace, PLURAL, self.name)
        if obj is None:
            raise LookupError(f"RayService {self.namespace}/{self.name} does not exist")
        return obj


def _route(apps: dict[str, dict], path: str) -> tuple[dict | None, str]:
    """The API application whose route prefix matches ``path`` longest, and the rest."""
    ingresses = [app for app in apps.values() if app.get("import_path") == API_IMPORT_PATH]
    for app in sorted(ingresses, key=lambda a: len(a.get("route_prefix") or ""), reverse=True):
        prefix = str(app.get("route_prefix") or "").rstrip("/")
        if path.startswith(f"{prefix}/"):
            return app, path[len(prefix) :]
    return None, path


def _handler_for(cluster: FakeGuardCluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            code, payload = cluster.answer(
                self.command, self.path, headers, json.loads(raw) if raw else None
            )
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

    return Handler
