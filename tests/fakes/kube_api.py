"""An in-process HTTP stand-in for a Kubernetes API server, for tests only.

No Kubernetes API server can run on the machines these tests run on, so the code that talks to
one (RayJob training, RayService rollout) is exercised through the official ``kubernetes``
client against this fake. It speaks the REST shapes that client uses, not more:

- namespaced objects of any group (``/api/v1/...`` and ``/apis/{group}/{version}/...``):
  list, create, get, replace (``resourceVersion`` conflicts give 409), delete, and the
  ``/status`` subresource;
- PATCH as JSON merge patch (RFC 7386, what the client sends for custom objects; strategic
  merge patches are applied as merge patches, enough for the fields these tests patch) and JSON
  patch (RFC 6902);
- ``?watch=true`` on lists: current objects as ADDED, then every change, until
  ``timeoutSeconds``;
- ``/api/v1/namespaces/{ns}/pods/{name}/log`` from text a test sets;
- ``Status`` bodies with ``reason`` and ``code`` for 404 / 409 / 415 / 422, like the real one.

What the real operator would do (KubeRay moving a RayJob through its states, marking a
RayService's applications healthy) is played by *reactors*: functions a test registers with
``on(plural, fn)`` that run after each write and may change the stored object. ``fail_next``
makes the next matching request fail, to test error paths. Every request is recorded in
``requests`` for assertions.

Usage::

    with FakeKubeApi() as api:
        api.add_namespace("ml")
        client = api.api_client()          # kubernetes.client.ApiClient pointed at the fake
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import LoopbackHttp

#: (group, version, namespace, plural); core objects have group "".
Key = tuple[str, str, str, str]
Reactor = Callable[["FakeKubeApi", str, dict], None]

_PATH = re.compile(
    r"^/(?:api/(?P<core_version>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"/namespaces/(?P<namespace>[^/]+)/(?P<plural>[^/]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<sub>status|log))?)?$"
)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict
    content_type: str
    body: object


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern
    status: int
    message: str
    times: int


@dataclass
class _Event:
    key: Key
    kind: str  # ADDED, MODIFIED, DELETED
    obj: dict


@dataclass
class _Store:
    objects: dict[Key, dict[str, dict]] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)
    pod_logs: dict[tuple[str, str], str] = field(default_factory=dict)
    resource_version: int = 0


class ApiFailure(Exception):
    """Raised inside the fake to answer with a Kubernetes ``Status`` body."""

    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


class FakeKubeApi:
    """The fake API server; a context manager that serves on 127.0.0.1 at a free port."""

    def __init__(self) -> None:
        self._store = _Store()
        self._lock = threading.Condition()
        self._reactors: dict[str, list[Reactor]] = {}
        self._failures: list[_Failure] = []
        self.requests: list[RecordedRequest] = []
        self._http = LoopbackHttp(_handler_for(self))

    # -- life cycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self._http.url

    def __enter__(self) -> FakeKubeApi:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._lock.notify_all()
        self._http.stop()

    def api_client(self):
        """A ``kubernetes.client.ApiClient`` talking to this fake (no auth, plain HTTP)."""
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        return client.ApiClient(configuration)

    # -- test controls --------------------------------------------------------------------
    def on(self, plural: str, reactor: Reactor) -> None:
        """Run ``reactor(api, verb, obj)`` after every write to ``plural`` (verb: create,
        update, patch, delete); it may change the object through ``update_stored``."""
        self._reactors.setdefault(plural, []).append(reactor)

    def fail_next(
        self, method: str, path_regex: str, status: int, message: str, *, times: int = 1
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path_regex`` with
        ``status`` and ``message`` instead of serving them."""
        self._failures.append(
            _Failure(method.upper(), re.compile(path_regex), status, message, times)
        )

    def add_namespace(self, name: str) -> None:
        self.put_object("", "v1", "", "namespaces", {"metadata": {"name": name}})

    def put_object(self, group: str, version: str, namespace: str, plural: str, obj: dict) -> dict:
        """Store ``obj`` as if created by someone else (no reactors run)."""
        with self._lock:
            return self._write((group, version, namespace, plural), obj, "ADDED")

    def get_object(self, group: str, version: str, namespace: str, plural: str, name: str):
        """A copy of the stored object, or ``None``."""
        with self._lock:
            found = self._store.objects.get((group, version, namespace, plural), {}).get(name)
            return copy.deepcopy(found)

    def update_stored(
        self, group: str, version: str, namespace: str, plural: str, name: str, change
    ) -> dict:
        """Apply ``change(obj)`` (in place) to a stored object, as a controller would."""
        with self._lock:
            key = (group, version, namespace, plural)
            obj = copy.deepcopy(self._store.objects[key][name])
            change(obj)
            return self._write(key, obj, "MODIFIED")

    def set_pod_log(self, namespace: str, pod: str, text: str) -> None:
        with self._lock:
            self._store.pod_logs[(namespace, pod)] = text

    def calls(self) -> set[tuple[str, str, str]]:
        """Every ``(verb, group, resource)`` the clients asked for, in RBAC's terms (a GET of
        one object is ``get``, of a collection ``list`` or ``watch``; subresources are
        ``plural/sub``), for checking them against a Role."""
        verbs = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
        found = set()
        for request in list(self.requests):
            match = _PATH.match(request.path)
            if not match:
                continue
            resource = match["plural"] + (f"/{match['sub']}" if match["sub"] else "")
            if request.method == "GET":
                watch = request.query.get("watch", "").lower() in {"true", "1"}
                verb = "get" if match["name"] else ("watch" if watch else "list")
            else:
                verb = verbs.get(request.method, request.method.lower())
            found.add((verb, match["group"] or "", resource))
        return found

    def writes(self, plural: str) -> list[RecordedRequest]:
        """The recorded non-GET requests on ``plural``."""
        return [
            r for r in self.requests if r.method != "GET" and f"/{plural}" in r.path.split("?")[0]
        ]

    # -- request handling -----------------------------------------------------------------
    def handle(self, method: str, raw_path: str, content_type: str, body: object):
        """(status, payload, streaming-iterator-or-None) for one request."""
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(RecordedRequest(method, parts.path, query, content_type, body))
            injected = self._take_failure(method, parts.path)
        if injected:
            raise ApiFailure(injected.status, _reason_for(injected.status), injected.message)
        match = _PATH.match(parts.path)
        if not match:
            raise ApiFailure(404, "NotFound", f"the fake API server does not serve {parts.path}")
        group = match["group"] or ""
        version = match["version"] or match["core_version"]
        key = (group, version, match["namespace"], match["plural"])
        name, sub = match["name"], match["sub"]
        if sub == "log":
            return 200, self._pod_log(match["namespace"], name), None
        if name is None:
            if method == "GET" and query.get("watch", "").lower() in {"true", "1"}:
                return 200, None, self._watch(key, float(query.get("timeoutSeconds", 5)))
            if method == "GET":
                return 200, self._list(key), None
            if method == "POST":
                return 201, self._create(key, body), None
        elif method == "GET":
            return 200, self._get(key, name), None
        elif method == "PUT":
            return 200, self._replace(key, name, body, status_only=sub == "status"), None
        elif method == "PATCH":
            return (
                200,
                self._patch(key, name, content_type, body, status_only=sub == "status"),
                None,
            )
        elif method == "DELETE":
            return 200, self._delete(key, name), None
        raise ApiFailure(405, "MethodNotAllowed", f"{method} is not allowed on {parts.path}")

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method == method and failure.pattern.search(path):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _pod_log(self, namespace: str, pod: str) -> str:
        with self._lock:
            if (namespace, pod) not in self._store.pod_logs:
                raise ApiFailure(404, "NotFound", f'pods "{pod}" not found')
            return self._store.pod_logs[(namespace, pod)]

    def _list(self, key: Key) -> dict:
        with self._lock:
            items = [copy.deepcopy(o) for o in self._store.objects.get(key, {}).values()]
            return {
                "kind": "List",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": str(self._store.resource_version)},
                "items": items,
            }

    def _get(self, key: Key, name: str) -> dict:
        with self._lock:
            found = self._store.objects.get(key, {}).get(name)
            if found is None:
                raise ApiFailure(404, "NotFound", f'{key[3]} "{name}" not found')
            return copy.deepcopy(found)

    def _create(self, key: Key, body: object) -> dict:
        obj = _require_object(body)
        name = obj.get("metadata", {}).get("name")
        if not name:
            raise ApiFailure(422, "Invalid", "metadata.name: Required value")
        with self._lock:
            if key[2] and not self._store.objects.get(("", "v1", "", "namespaces"), {}).get(key[2]):
                raise ApiFailure(404, "NotFound", f'namespaces "{key[2]}" not found')
            if name in self._store.objects.get(key, {}):
                raise ApiFailure(409, "AlreadyExists", f'{key[3]} "{name}" already exists')
            stored = self._write(key, obj, "ADDED")
        self._react(key[3], "create", stored)
        return self._get(key, name)

    def _replace(self, key: Key, name: str, body: object, *, status_only: bool) -> dict:
        obj = _require_object(body)
        with self._lock:
            current = self._get(key, name)
            sent_version = obj.get("metadata", {}).get("resourceVersion")
            if sent_version and sent_version != current["metadata"]["resourceVersion"]:
                raise ApiFailure(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {key[3]} "{name}": '
                    "the object has been modified; please apply your changes to the latest version",
                )
            if status_only:
                current["status"] = obj.get("status", {})
                obj = current
            stored = self._write(key, obj, "MODIFIED")
        self._react(key[3], "update", stored)
        return self._get(key, name)

    def _patch(
        self, key: Key, name: str, content_type: str, body: object, *, status_only: bool
    ) -> dict:
        with self._lock:
            current = self._get(key, name)
            if content_type.startswith("application/json-patch+json"):
                if not isinstance(body, list):
                    raise ApiFailure(400, "BadRequest", "a JSON patch must be a list")
                patched = _json_patch(current, body)
            elif content_type.startswith(
                ("application/merge-patch+json", "application/strategic-merge-patch+json")
            ):
                patched = _merge_patch(current, _require_object(body))
            else:
                raise ApiFailure(415, "UnsupportedMediaType", f"unsupported patch {content_type}")
            if status_only:
                current["status"] = patched.get("status", {})
                patched = current
            stored = self._write(key, patched, "MODIFIED")
        self._react(key[3], "patch", stored)
        return self._get(key, name)

    def _delete(self, key: Key, name: str) -> dict:
        with self._lock:
            current = self._get(key, name)
            del self._store.objects[key][name]
            self._store.resource_version += 1
            self._store.events.append(_Event(key, "DELETED", current))
            self._lock.notify_all()
        self._react(key[3], "delete", current)
        return {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}

    def _write(self, key: Key, obj: dict, event: str) -> dict:
        """Store ``obj`` with fresh metadata; the caller holds the lock."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        old = self._store.objects.get(key, {}).get(meta["name"])
        self._store.resource_version += 1
        meta["resourceVersion"] = str(self._store.resource_version)
        if key[2]:
            meta["namespace"] = key[2]
        if old is None:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            meta["generation"] = 1
        else:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            spec_changed = old.get("spec") != obj.get("spec")
            meta["generation"] = old["metadata"].get("generation", 1) + int(spec_changed)
        self._store.objects.setdefault(key, {})[meta["name"]] = obj
        self._store.events.append(_Event(key, event, copy.deepcopy(obj)))
        self._lock.notify_all()
        return copy.deepcopy(obj)

    def _react(self, plural: str, verb: str, obj: dict) -> None:
        for reactor in self._reactors.get(plural, []):
            reactor(self, verb, copy.deepcopy(obj))

    def _watch(self, key: Key, timeout_s: float):
        """Yield watch events (JSON lines) for ``key`` until ``timeout_s``."""
        with self._lock:
            start = len(self._store.events)
            initial = [copy.deepcopy(o) for o in self._store.objects.get(key, {}).values()]
        for obj in initial:
            yield {"type": "ADDED", "object": obj}
        deadline = time.monotonic() + timeout_s
        seen = start
        while True:
            with self._lock:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                if seen == len(self._store.events):
                    self._lock.wait(min(remaining, 0.2))
                fresh, seen = self._store.events[seen:], len(self._store.events)
            for event in fresh:
                if event.key == key:
                    yield {"type": event.kind, "object": event.obj}


def _require_object(body: object) -> dict:
    if not isinstance(body, dict):
        raise ApiFailure(400, "BadRequest", "the request body must be a JSON object")
    return copy.deepcopy(body)


def _merge_patch(target: object, patch: object) -> object:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = _merge_patch(result.get(name), value)
    return result


def _json_patch(target: dict, operations: list) -> dict:
    """RFC 6902 JSON patch: add, replace, remove and test (what clients send)."""
    doc = copy.deepcopy(target)
    for operation in operations:
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in operation["path"].split("/")[1:]]
        parent = doc
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        last, op = tokens[-1], operation["op"]
        if op == "test":
            actual = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if actual != operation["value"]:
                raise ApiFailure(422, "Invalid", f"test operation failed at {operation['path']}")
        elif op in {"add", "replace"}:
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if op == "add":
                    parent.insert(index, operation["value"])
                else:
                    parent[index] = operation["value"]
            else:
                if op == "replace" and last not in parent:
                    raise ApiFailure(422, "Invalid", f"no value at {operation['path']} to replace")
                parent[last] = operation["value"]
        elif op == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            else:
                parent.pop(last)
        else:
            raise ApiFailure(422, "Invalid", f"unsupported JSON patch operation {op!r}")
    return doc


def _reason_for(status: int) -> str:
    return {
        400: "BadRequest",
        403: "Forbidden",
        404: "NotFound",
        409: "Conflict",
        422: "Invalid",
        500: "InternalError",
        503: "ServiceUnavailable",
    }.get(status, "Unknown")


def _handler_for(api: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type", "")
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                self._send(400, _status(400, "BadRequest", "the body is not JSON"))
                return
            try:
                code, payload, stream = api.handle(self.command, self.path, content_type, body)
            except ApiFailure as failure:
                self._send(failure.code, _status(failure.code, failure.reason, failure.message))
                return
            if stream is not None:
                self._stream(stream)
            elif isinstance(payload, str):
                self._send(code, payload.encode(), "text/plain")
            else:
                self._send(code, payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def _send(self, code: int, payload: object, content_type: str = "application/json"):
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, events) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for event in events:
                    line = json.dumps(event).encode() + b"\n"
                    self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


def _status(code: int, reason: str, message: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
