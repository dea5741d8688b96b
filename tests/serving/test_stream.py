"""``WS /v1/moderate/stream`` on the plain server: one reply per delta, equal to the one-shot
score of the text so far, a final reply on done, and a close code for each bad input."""

from __future__ import annotations

import json

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.serving.conftest import LIMITS, PAIRS

QUESTION, RESPONSE = PAIRS[1][0], PAIRS[1][1]
TIMEOUT = 30


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1/moderate/stream"


def one_shot(url: str, response: str) -> float:
    body = {"question": QUESTION, "response": response}
    return requests.post(f"{url}/v1/moderate", json=body, timeout=TIMEOUT).json()["results"][0][
        "score"
    ]


def test_each_delta_gets_one_reply_equal_to_the_one_shot_score(plain_url: str) -> None:
    pieces = [RESPONSE[i : i + 4] for i in range(0, len(RESPONSE), 4)]
    with connect(ws_url(plain_url), open_timeout=TIMEOUT) as socket:
        socket.send(json.dumps({"question": QUESTION}))
        text = ""
        for piece in pieces:
            text += piece
            socket.send(json.dumps({"delta": piece}))
            reply = json.loads(socket.recv(timeout=TIMEOUT))
            assert reply["chars"] == len(text)
            assert reply["score"] == pytest.approx(one_shot(plain_url, text), abs=1e-4)
            assert reply["level"] == reply["verdict"]  # an uncalibrated model: no band
        socket.send(json.dumps({"done": True}))
        final = json.loads(socket.recv(timeout=TIMEOUT))
        assert final["done"] is True and final["chars"] == len(RESPONSE)
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=TIMEOUT)
    assert closed.value.rcvd.code == 1000


@pytest.mark.parametrize(
    ("messages", "close_code", "error"),
    [
        ([{"delta": "先发了回答"}], 1008, "invalid_message"),
        ([{"question": ""}], 1008, "invalid_message"),
        ([{"question": "q"}, {"delta": 3}], 1008, "invalid_message"),
        ([{"question": "q"}, {"delta": "x", "extra": 1}], 1008, "invalid_message"),
        ([{"question": "q"}, {"delta": "长" * (LIMITS["max_chars"] + 1)}], 1009, "text_too_long"),
    ],
)
def test_bad_messages_get_an_error_and_a_close_code(
    plain_url: str, messages: list, close_code: int, error: str
) -> None:
    with connect(ws_url(plain_url), open_timeout=TIMEOUT) as socket:
        for message in messages:
            socket.send(json.dumps(message))
        reply = json.loads(socket.recv(timeout=TIMEOUT))
        assert reply["error"] == error and reply["message"]
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=TIMEOUT)
    assert closed.value.rcvd.code == close_code


def test_the_handshake_needs_the_key_when_auth_is_on(secured_url: str) -> None:
    with connect(ws_url(secured_url), open_timeout=TIMEOUT) as socket:
        reply = json.loads(socket.recv(timeout=TIMEOUT))
        assert reply["error"] == "unauthorized"
    headers = {"Authorization": "Bearer s3cret-key"}
    with connect(ws_url(secured_url), additional_headers=headers, open_timeout=30) as socket:
        socket.send(json.dumps({"question": QUESTION}))
        socket.send(json.dumps({"delta": RESPONSE}))
        assert "score" in json.loads(socket.recv(timeout=TIMEOUT))
