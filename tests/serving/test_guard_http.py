"""The rollouts' HTTP view of the guard: retrying unrouted calls, confirming /v1/model."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest

from serving.auth import API_KEY_ENV
from serving.rollout.base import RolloutError
from serving.rollout.guard_http import GuardHttp, NotRouted
from tests.fakes.loopback import LoopbackHttp


class _Script:
    """Answers in order (status, JSON body or raw text); the last one repeats."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, object]] = []
        self.seen: list[tuple[str, str, str | None]] = []  # (method, path, Authorization)


_SCRIPT = _Script()


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _SCRIPT.seen.append((self.command, self.path, self.headers.get("Authorization")))
        status, payload = _SCRIPT.answers.pop(0) if len(_SCRIPT.answers) > 1 else _SCRIPT.answers[0]
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture
def guard():
    server = LoopbackHttp(_Handler)
    server.start()
    _SCRIPT.seen = []
    yield GuardHttp(server.url + "/", poll_s=0.01, request_timeout_s=5)
    server.stop()


def _script(*answers: tuple[int, object]) -> None:
    _SCRIPT.answers = list(answers)


def test_unrouted_answers_are_retried_until_the_route_appears(guard):
    _script((503, {"message": "starting"}), (404, "no route"), (200, {"results": [1]}))
    assert guard.request("POST", "/smoke/v1/moderate", {"items": []}, retry_s=5) == {"results": [1]}
    assert [path for _, path, _ in _SCRIPT.seen] == ["/smoke/v1/moderate"] * 3


def test_unrouted_without_retry_time_is_raised_at_once(guard):
    _script((404, "no route"))
    with pytest.raises(NotRouted, match="answered 404: no route"):
        guard.request("GET", "/v1/model")
    assert len(_SCRIPT.seen) == 1


def test_a_real_error_is_not_retried_and_carries_the_api_message(guard):
    _script((422, {"message": "question is empty"}), (200, {}))
    with pytest.raises(RolloutError, match="answered 422: question is empty") as error:
        guard.request("POST", "/v1/moderate", {}, retry_s=5)
    assert not isinstance(error.value, NotRouted)
    assert len(_SCRIPT.seen) == 1


def test_nothing_listening_is_not_routed_and_names_the_setting():
    closed = GuardHttp("http://127.0.0.1:9", poll_s=0.01, request_timeout_s=1)
    with pytest.raises(NotRouted, match="LIBRA_GUARD_URL"):
        closed.request("GET", "/v1/model")


def test_the_api_key_is_sent_when_set(guard, monkeypatch):
    monkeypatch.setenv(API_KEY_ENV, "s3cret")
    _script((200, {"version": "1"}))
    guard.request("GET", "/v1/model")
    assert _SCRIPT.seen[0][2] == "Bearer s3cret"


def test_model_confirmed_only_after_consecutive_matching_answers(guard):
    # A stale replica answering in between resets the count.
    _script(
        (200, {"version": "2"}),
        (200, {"version": "1"}),
        (200, {"version": "2"}),
        (200, {"version": "2"}),
        (200, {"version": "2"}),
        (200, {"version": "1"}),
    )
    guard.wait_for_model(
        lambda model: model.get("version") == "2", "version 2", timeout_s=5, confirmations=3
    )
    assert len(_SCRIPT.seen) == 5


def test_model_not_confirmed_in_time_says_what_it_last_saw(guard):
    _script((200, {"version": "1", "aliases": ["champion"]}))
    with pytest.raises(RolloutError, match=r"did not report version 2 .*version 1, aliases"):
        guard.wait_for_model(
            lambda model: model.get("version") == "2", "version 2", timeout_s=0.2, confirmations=1
        )
