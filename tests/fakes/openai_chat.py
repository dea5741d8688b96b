"""An in-process stand-in for an OpenAI-compatible chat-completions server, for tests only.

Teacher synthesis talks to vLLM, Ray Serve LLM or a hosted API; none can run where the tests
run, so this server speaks the published wire format instead, checked against
openai-python's generated types (from OpenAI's OpenAPI spec):

- request: ``POST /v1/chat/completions`` with ``model`` and a non-empty ``messages`` list of
  ``{"role", "content"}`` (``src/openai/types/chat/completion_create_params.py``,
  ``CompletionCreateParamsBase``); ``temperature`` in [0, 2], ``top_p`` in [0, 1],
  ``max_tokens`` >= 1 and ``seed`` an integer when present; a bad body gets 400;
- auth: ``Authorization: Bearer <key>``; a wrong key gets 401 with ``code:
  invalid_api_key``; an unknown model 404 with ``code: model_not_found`` (the bodies the
  client turns into ``AuthenticationError``/``NotFoundError`` in ``src/openai/_client.py``,
  ``_make_status_error``);
- response: ``ChatCompletion`` (``src/openai/types/chat/chat_completion.py``): ``id``,
  ``object: "chat.completion"``, ``created``, ``model``, ``choices[{index, message{role:
  "assistant", content, refusal}, logprobs, finish_reason}]``, ``usage{prompt_tokens,
  completion_tokens, total_tokens}`` (``src/openai/types/completion_usage.py``);
- errors: ``{"error": {"message", "type", "param", "code"}}``.

What each model says is scripted per model name: a function gets the request body and how
many times this exact body was sent before, and returns a ``Scripted`` reply (text, or a
status with headers, or a delay that outlasts the client's timeout). ``calls`` counts
requests per model that passed the checks, ``received`` every request.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.fakes.loopback import LoopbackHttp

ROLES = {"system", "developer", "user", "assistant", "tool"}


@dataclass(frozen=True)
class Scripted:
    """One scripted answer: ``content`` with 200, or an error ``status`` (with headers);
    ``delay`` seconds before answering; ``raw`` replaces the whole 200 body (malformed)."""

    content: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: dict | None = None


Script = Callable[[dict, int], Scripted]


class FakeChatServer:
    """The server; use as a context manager. ``url`` is the ``base_url`` (ends in ``/v1``)."""

    def __init__(self, scripts: dict[str, Script], api_key: str = "sk-test") -> None:
        self.scripts = scripts
        self.api_key = api_key
        self.calls: Counter[str] = Counter()
        self.received = 0
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._http = LoopbackHttp(self._handler_class())

    @property
    def url(self) -> str:
        return f"{self._http.url}/v1"

    def __enter__(self) -> FakeChatServer:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, dict]:
        """Status, headers and JSON body for one request."""
        with self._lock:
            self.received += 1
        if path != "/v1/chat/completions":
            return 404, {}, _error(f"Unknown path {path}", "invalid_request_error", None)
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return (
                401,
                {},
                _error("Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
            )
        try:
            body = json.loads(raw)
        except ValueError:
            return (
                400,
                {},
                _error("We could not parse the JSON body", "invalid_request_error", None),
            )
        problem = _invalid(body)
        if problem:
            return 400, {}, _error(problem, "invalid_request_error", None)
        model = body["model"]
        if model not in self.scripts:
            return (
                404,
                {},
                _error(
                    f"The model `{model}` does not exist",
                    "invalid_request_error",
                    "model_not_found",
                ),
            )
        key = json.dumps(body, sort_keys=True, ensure_ascii=False)
        with self._lock:
            self.calls[model] += 1
            attempt = self._seen[key]
            self._seen[key] += 1
        scripted = self.scripts[model](body, attempt)
        if scripted.delay:
            time.sleep(scripted.delay)
        if scripted.status != 200:
            return (
                scripted.status,
                scripted.headers,
                _error(f"scripted HTTP {scripted.status}", "server_error", None),
            )
        return 200, scripted.headers, scripted.raw or _completion(model, body, scripted.content)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {key.lower(): value for key, value in self.headers.items()}
                status, extra, body = server.answer(self.path, headers, raw)
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _invalid(body: object) -> str | None:
    """Why a body breaks ``CompletionCreateParamsBase``, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return "each message needs a valid 'role'"
        if not isinstance(message.get("content"), str):
            return "each message needs string 'content'"
    bounds = {"temperature": (0, 2), "top_p": (0, 1)}
    for name, (low, high) in bounds.items():
        value = body.get(name)
        if value is not None and not (isinstance(value, int | float) and low <= value <= high):
            return f"'{name}' must be between {low} and {high}"
    tokens = body.get("max_tokens")
    if tokens is not None and not (isinstance(tokens, int) and tokens >= 1):
        return "'max_tokens' must be a positive integer"
    if body.get("seed") is not None and not isinstance(body["seed"], int):
        return "'seed' must be an integer"
    return None


def _completion(model: str, body: dict, content: str | None) -> dict:
    prompt_tokens = sum(len(message["content"]) for message in body["messages"])
    completion_tokens = len(content or "")
    return {
        "id": f"chatcmpl-{abs(hash((model, json.dumps(body)))) % 10**12}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error(message: str, kind: str, code: str | None) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
