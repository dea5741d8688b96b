"""A small client of the guard API: what ``libra-guard moderate`` sends and reads.

``moderate`` posts one item; ``moderate_stream`` streams a response over the WebSocket route::

    for reply in moderate_stream(url, question, ["第一段", "第二段"]):
        if reply["verdict"] == "unsafe":
            break  # stop the generation here
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import requests

from libra_guard.errors import LibraGuardError
from serving.auth import api_key_from_env


class ServiceError(LibraGuardError):
    """The guard service cannot be reached or refused the request."""


def moderate(
    url: str,
    question: str,
    response: str | None = None,
    *,
    explain: bool = False,
    api_key: str | None = None,
    timeout_s: float = 60.0,
) -> dict:
    """The first result of ``POST {url}/v1/moderate`` for one item.

    Raises:
        ServiceError: nothing answers at ``url``, or it answered with an error (its message).
    """
    body: dict = {"question": question, "explain": explain}
    if response is not None:
        body["response"] = response
    headers = {}
    key = api_key if api_key is not None else api_key_from_env()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    endpoint = f"{url.rstrip('/')}/v1/moderate"
    try:
        answer = requests.post(endpoint, json=body, headers=headers, timeout=timeout_s)
    except requests.ConnectionError as exc:
        raise ServiceError(
            f"no guard service answers at {url}; start one with `libra-guard serve` or pass --url"
        ) from exc
    except requests.RequestException as exc:
        raise ServiceError(f"the request to {endpoint} failed: {exc}") from exc
    try:
        payload = answer.json()
    except ValueError:
        payload = {}
    if not answer.ok:
        message = payload.get("message") if isinstance(payload, dict) else None
        raise ServiceError(
            f"{endpoint} answered {answer.status_code}: {message or answer.text[:300]}"
        )
    try:
        return payload["results"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise ServiceError(f"{endpoint} answered without results: {answer.text[:300]}") from exc


def moderate_stream(
    url: str,
    question: str,
    deltas: Iterable[str],
    *,
    api_key: str | None = None,
    timeout_s: float = 60.0,
) -> Iterator[dict]:
    """Stream ``deltas`` of a response to ``WS {url}/v1/moderate/stream``; yields one reply per
    delta and the final (``done``) reply. Stop iterating to stop early (at the first unsafe
    reply, say): the socket closes with the generator.

    Raises:
        ServiceError: nothing answers at ``url``, or the server ended the stream with an error.
    """
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
    from websockets.sync.client import connect

    endpoint = url.rstrip("/").replace("http://", "ws://").replace("https://", "wss://")
    endpoint += "/v1/moderate/stream"
    key = api_key if api_key is not None else api_key_from_env()
    headers = {"Authorization": f"Bearer {key}"} if key else None
    try:
        socket = connect(endpoint, additional_headers=headers, open_timeout=timeout_s)
    except (OSError, InvalidHandshake, InvalidURI) as exc:
        raise ServiceError(f"no guard stream answers at {endpoint}: {exc}") from exc
    with socket:
        try:
            socket.send(json.dumps({"question": question}, ensure_ascii=False))
            for delta in [*deltas, None]:
                message = {"done": True} if delta is None else {"delta": delta}
                socket.send(json.dumps(message, ensure_ascii=False))
                reply = json.loads(socket.recv(timeout=timeout_s))
                if "error" in reply:
                    raise ServiceError(f"{endpoint}: {reply['error']}: {reply.get('message')}")
                yield reply
        except ConnectionClosed as exc:
            reason = exc.rcvd.reason if exc.rcvd else ""
            raise ServiceError(f"the stream at {endpoint} was closed: {reason or exc}") from exc
        except TimeoutError as exc:
            raise ServiceError(f"the stream at {endpoint} did not answer in time") from exc


def split_into_pieces(text: str, piece_chars: int) -> list[str]:
    """``text`` cut into pieces of ``piece_chars`` characters (the last may be shorter)."""
    return [text[start : start + piece_chars] for start in range(0, len(text), piece_chars)]
