"""``WS /v1/moderate/stream``: moderate a response while it is being generated.

Protocol (JSON text messages):

1. the client sends ``{"question": "..."}``; no reply;
2. then one ``{"delta": "..."}`` per generated piece; each gets exactly one reply
   ``{"score", "verdict", "level", "label", "chars"}`` for the whole response so far, so the
   client can stop its generation at the first unsafe reply;
3. ``{"done": true}`` gets the final reply (the same fields plus ``"done": true``) and the
   server closes the socket (code 1000).

Each delta costs its new tokens plus the short template tail: the model keeps a key-value
cache per open window of the response (``libra_guard.modeling.streaming.StreamingVerdict``),
and the streamed score equals the one-shot windowed score of the whole text. Bad input gets
an ``{"error", "message"}`` message and a close code: 1008 for a wrong message, 1009 when
the response passes ``max_chars``, 1011 when the backend cannot stream or fails, 1013 when it
is overloaded or has no model yet (retry later). With
``LIBRA_API_KEY`` set, the handshake needs ``Authorization: Bearer <key>`` (closed with 1008
otherwise).

The stream's cache lives next to the model: in this process for the plain server, on one
model replica for Ray Serve (``app.ServeStream``, routed there by ``stream_router``).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from serving.auth import BearerAuth
from serving.backend import GuardBackend, judge_level
from serving.config import ServingConfig
from serving.http_errors import ApiError

POLICY_VIOLATION = 1008
TOO_BIG = 1009
SERVER_ERROR = 1011
TRY_AGAIN_LATER = 1013

logger = logging.getLogger(__name__)


class StreamError(Exception):
    """A stream that must end: what to tell the client and the close code."""

    def __init__(self, code: str, message: str, close_code: int = POLICY_VIOLATION) -> None:
        super().__init__(message)
        self.code, self.message, self.close_code = code, message, close_code


def install_stream_route(
    app: FastAPI, backend: GuardBackend, config: ServingConfig, auth: BearerAuth
) -> None:
    """Add ``WS /v1/moderate/stream`` to ``app``."""

    @app.websocket("/v1/moderate/stream")
    async def moderate_stream(socket: WebSocket) -> None:
        await socket.accept()
        stream = None
        try:
            auth.check(socket.headers.get("authorization"))
            opener = getattr(backend, "open_stream", None)
            if opener is None:
                raise StreamError(
                    "streaming_unavailable",
                    "this deployment cannot stream; use POST /v1/moderate",
                    SERVER_ERROR,
                )
            # The API's text limit: the model's (max_windows windows) and max_chars, if set.
            limits = [n for n in (config.max_chars, await backend.text_limit()) if n is not None]
            max_chars = min(limits) if limits else None
            question = _field(await socket.receive_json(), "question")
            if max_chars is not None and len(question) > max_chars:
                raise StreamError("text_too_long", "the question is over max_chars", TOO_BIG)
            stream = await opener(question)
            chars = 0
            while True:
                message = await socket.receive_json()
                done = isinstance(message, dict) and message.get("done") is True
                delta = "" if done else _field(message, "delta", allow_empty=True)
                chars += len(delta)
                if max_chars is not None and chars > max_chars:
                    raise StreamError(
                        "text_too_long",
                        f"the response passed {max_chars} characters (the text limit)",
                        TOO_BIG,
                    )
                scored = await stream.add(delta)
                level, verdict = judge_level(
                    scored.score, scored.levels, config.threshold, config.level_policy
                )
                reply = {
                    "score": scored.score,
                    "verdict": verdict,
                    "level": level,
                    "label": "不安全" if verdict == "unsafe" else "安全",
                    "chars": chars,
                }
                if done:
                    await socket.send_json(reply | {"done": True})
                    await socket.close(1000)
                    return
                await socket.send_json(reply)
        except WebSocketDisconnect:
            return
        except ApiError as exc:
            await _close(socket, exc.code, exc.message, close_code_of(exc))
        except StreamError as exc:
            await _close(socket, exc.code, exc.message, exc.close_code)
        except ValueError as exc:  # receive_json on a message that is not JSON
            await _close(socket, "invalid_json", f"messages must be JSON: {exc}", POLICY_VIOLATION)
        except Exception:
            # A bug or a backend failure: a clean close the client can act on, never a
            # dropped socket (uvicorn would only cut the connection).
            logger.exception("a moderation stream failed")
            message = "the stream failed; open a new one"
            await _close(socket, "internal_error", message, SERVER_ERROR)
        finally:
            # A stream held elsewhere (a Serve model replica) frees its cache now.
            if stream is not None and hasattr(stream, "close"):
                await stream.close()


def close_code_of(error: ApiError) -> int:
    """The WebSocket close code of an API error: 1013 (try again later) for a 503 (overloaded,
    no model yet), 1011 for another server error, 1008 for the client's own (e.g. 401)."""
    if error.status == 503:
        return TRY_AGAIN_LATER
    return SERVER_ERROR if error.status >= 500 else POLICY_VIOLATION


def _field(message: object, name: str, allow_empty: bool = False) -> str:
    """``message[name]`` as a string, or a ``StreamError`` naming the expected message."""
    if not isinstance(message, dict) or set(message) != {name}:
        raise StreamError("invalid_message", f'expected a message {{"{name}": "..."}}')
    value = message[name]
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise StreamError("invalid_message", f"{name} must be a non-empty string")
    return value


async def _close(socket: WebSocket, code: str, message: str, close_code: int) -> None:
    try:
        await socket.send_json({"error": code, "message": message})
        # The code in the close reason too: a client that was still sending sees it there.
        await socket.close(close_code, reason=code)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client left first
