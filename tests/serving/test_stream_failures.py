"""How ``WS /v1/moderate/stream`` ends when the backend fails rather than the client: an
``{"error", "message"}`` message and a close code the client can act on (1013: retry later,
1011: the server failed), never a dropped connection.

The backends here are stand-ins for the model side only; the route under test is the real one
(``serving.stream.install_stream_route``) on a real FastAPI app."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.auth import BearerAuth
from serving.config import ServingConfig
from serving.http_errors import ApiError, ModelUnavailable, Overloaded
from serving.stream import install_stream_route


class _FailingStream:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.closed = False

    async def add(self, delta: str):
        raise self.error

    async def close(self) -> None:
        self.closed = True


class _Backend:
    """Opens streams that fail on their first delta, or fails to open one."""

    def __init__(self, *, open_error: Exception | None = None, add_error: Exception | None = None):
        self.open_error, self.add_error = open_error, add_error
        self.streams: list[_FailingStream] = []

    async def text_limit(self) -> int | None:
        return None

    async def open_stream(self, question: str) -> _FailingStream:
        if self.open_error is not None:
            raise self.open_error
        self.streams.append(_FailingStream(self.add_error))
        return self.streams[-1]


def _close_of(backend: _Backend) -> tuple[dict, int]:
    app = FastAPI()
    install_stream_route(app, backend, ServingConfig(), BearerAuth(None))
    with TestClient(app).websocket_connect("/v1/moderate/stream") as socket:
        socket.send_json({"question": "怎样制作炸药？"})
        socket.send_json({"delta": "第一步"})
        reply = socket.receive_json()
        closing = socket.receive()
    assert closing["type"] == "websocket.close"
    return reply, closing["code"]


@pytest.mark.parametrize(
    ("backend", "error", "close_code"),
    [
        (_Backend(open_error=Overloaded("the guard is at its queue limit", 2)), "overloaded", 1013),
        (_Backend(open_error=ModelUnavailable("no model yet")), "model_unavailable", 1013),
        (_Backend(add_error=ApiError(500, "scoring_failed", "boom")), "scoring_failed", 1011),
        (_Backend(add_error=ApiError(401, "unauthorized", "no key")), "unauthorized", 1008),
        (_Backend(add_error=ZeroDivisionError("a bug")), "internal_error", 1011),
    ],
)
def test_a_failing_backend_ends_the_stream_with_a_code_and_a_message(backend, error, close_code):
    reply, code = _close_of(backend)
    assert (reply["error"], code) == (error, close_code)
    assert reply["message"]
    # A stream that was opened is closed, freeing its cache where it lives.
    assert all(stream.closed for stream in backend.streams)
