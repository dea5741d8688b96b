"""``WS /v1/moderate/stream`` through Ray Serve: the proxy, the ingress and two model replicas.

With two replicas a stream's calls must all reach the replica holding its cache
(``serving.stream_router``): one call routed elsewhere ends the stream with ``stream_lost``,
so the equality test below also checks the routing. Auth is on (``auth_required``), so the
handshake refusal is the Serve ingress's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from serving.config import ServingConfig
from serving.model_source import target_of
from serving.plain import free_port
from tests.serving.conftest import LIMITS, PAIRS
from tests.serving.test_stream import ws_url

pytestmark = pytest.mark.slow
KEY = "serve-stream-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
TIMEOUT = 60
QUESTION, RESPONSE = PAIRS[3][0], PAIRS[3][1] * 2


@pytest.fixture(scope="module")
def serve_url(ray_address: str, tiny_guard: Path, tmp_path_factory) -> Iterator[str]:
    from ray import serve

    from serving.rollout.base import roll_out
    from serving.rollout.local import LocalServeRollout

    config = ServingConfig(
        **LIMITS, model_num_cpus=0.25, num_replicas=2, auth_required=True, constructor_retries=1
    )
    env = {"LIBRA_API_KEY": KEY, "LIBRA_STATE_DIR": str(tmp_path_factory.mktemp("state"))}
    rollout = LocalServeRollout(config, port=free_port(), replica_env=env)
    # The rollout confirms the switch over HTTP with the key from this process's environment.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIBRA_API_KEY", KEY)
        try:
            rollout.start_serve()
            result = roll_out(rollout, target_of(str(tiny_guard)), [])
            assert result.served, result.reason
            yield rollout.url
        finally:
            serve.shutdown()


def one_shot(url: str, response: str) -> float:
    body = {"question": QUESTION, "response": response}
    answer = requests.post(f"{url}/v1/moderate", json=body, headers=AUTH, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"][0]["score"]


def test_streamed_scores_equal_one_shot_scores_through_serve(serve_url: str) -> None:
    pieces = [RESPONSE[i : i + 3] for i in range(0, len(RESPONSE), 3)]
    for _ in range(2):  # two streams: each lands on either replica
        with connect(ws_url(serve_url), additional_headers=AUTH, open_timeout=TIMEOUT) as socket:
            socket.send(json.dumps({"question": QUESTION}))
            text = ""
            for piece in pieces:
                text += piece
                socket.send(json.dumps({"delta": piece}))
                reply = json.loads(socket.recv(timeout=TIMEOUT))
                assert "error" not in reply, reply
                assert reply["chars"] == len(text)
            socket.send(json.dumps({"done": True}))
            final = json.loads(socket.recv(timeout=TIMEOUT))
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=TIMEOUT)
        assert closed.value.rcvd.code == 1000
        assert final["done"] is True and final["chars"] == len(RESPONSE)
        assert final["score"] == pytest.approx(one_shot(serve_url, RESPONSE), abs=1e-4)
        assert reply["score"] == pytest.approx(final["score"], abs=1e-6)


def test_a_bad_first_message_gets_an_error_close_and_serving_goes_on(serve_url: str) -> None:
    with connect(ws_url(serve_url), additional_headers=AUTH, open_timeout=TIMEOUT) as socket:
        socket.send(json.dumps({"delta": "先发了回答"}))
        reply = json.loads(socket.recv(timeout=TIMEOUT))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=TIMEOUT)
    assert reply["error"] == "invalid_message" and "question" in reply["message"]
    assert closed.value.rcvd.code == 1008
    assert 0.0 <= one_shot(serve_url, RESPONSE) <= 1.0


def test_the_serve_handshake_needs_the_key(serve_url: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with connect(ws_url(serve_url), additional_headers=headers, open_timeout=30) as socket:
            reply = json.loads(socket.recv(timeout=TIMEOUT))
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=TIMEOUT)
        assert reply["error"] == "unauthorized"
        assert closed.value.rcvd.code == 1008
