"""One OpenAI-compatible ``POST {base_url}/chat/completions`` client: rate limit, retries,
timeouts and clear failures.

Failure semantics (what a run does with each answer of the endpoint):

| answer                                   | what happens                                    |
|------------------------------------------|-------------------------------------------------|
| 200 with ``choices[0].message.content``  | the text and ``usage`` tokens are returned      |
| 408, 409, 429, 5xx; read timeout         | retried with backoff; ``Retry-After`` honoured   |
| connection refused / DNS failure         | retried; then ``EndpointError`` (unreachable)   |
| 401, 403                                 | ``EndpointError`` at once (the key is wrong)    |
| 404                                      | ``EndpointError`` at once (model or URL wrong)  |
| other 4xx, or a 200 that breaks the schema | this request fails with the reason; row dropped |

The retry rules follow openai-python (``src/openai/_base_client.py``: ``_should_retry``
retries 408, 409, 429 and >= 500; ``_parse_retry_after_header`` reads ``retry-after-ms`` then
``retry-after`` as seconds or an HTTP date; ``_calculate_retry_timeout`` honours a server wait
of at most 60 s, else backs off exponentially from 0.5 s with up to 25 % jitter). The response
shape is ``ChatCompletion`` (``src/openai/types/chat/chat_completion.py``) and the error body
``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from dataclasses import dataclass

import requests

from libra_guard.data.teacher.config import Endpoint
from libra_guard.errors import LibraGuardError

RETRYABLE_STATUS = frozenset({408, 409, 429})
#: The longest server-requested wait honoured as given (openai-python uses the same bound).
MAX_HONOURED_RETRY_AFTER_S = 60.0
INITIAL_BACKOFF_S = 0.5
CONNECT_TIMEOUT_S = 10.0


class EndpointError(LibraGuardError):
    """An endpoint cannot serve any request (unreachable, key refused, model unknown)."""


@dataclass(frozen=True)
class ChatReply:
    """The outcome of one request: ``text`` or the ``error`` that dropped it."""

    text: str | None = None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0


class Throttle:
    """At most ``rate`` request starts per second from this process (thread-safe)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next_start = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
        if start > now:
            time.sleep(start - now)


class ChatClient:
    """Chat completions against one endpoint; ``rate`` is this process's share of its limit.

    ``api_key`` is the key read by the caller (Ray workers get it from the driver, whose
    environment holds ``api_key_env``); when None it is read from the environment here.
    """

    def __init__(
        self, endpoint: Endpoint, rate: float | None = None, api_key: str | None = None
    ) -> None:
        self.endpoint = endpoint
        self.url = f"{endpoint.base_url}/chat/completions"
        self._throttle = Throttle(rate or endpoint.requests_per_second)
        self._session = requests.Session()
        self._headers = {"Content-Type": "application/json"}
        key = api_key if api_key is not None else endpoint.api_key()
        if key:
            self._headers["Authorization"] = f"Bearer {key}"

    def request_body(self, messages: list[dict[str, str]], seed: int) -> dict:
        """The JSON body of one request (also what the cache key is made of)."""
        sampling = self.endpoint.sampling
        return {
            "model": self.endpoint.model,
            "messages": messages,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
            "seed": seed,
        }

    def complete(self, body: dict) -> ChatReply:
        """Send one request, retrying what can succeed later.

        Raises:
            EndpointError: the endpoint refuses the key, does not know the model, or cannot be
                reached after every retry.
        """
        endpoint = self.endpoint
        last_problem = ""
        unreachable = False
        for attempt in range(endpoint.max_retries + 1):
            self._throttle.wait()
            try:
                response = self._session.post(
                    self.url,
                    json=body,
                    headers=self._headers,
                    timeout=(CONNECT_TIMEOUT_S, endpoint.timeout_s),
                )
            except requests.ConnectionError as exc:
                # ConnectTimeout is both a ConnectionError and a Timeout: nobody answered.
                unreachable, last_problem = True, f"unreachable ({type(exc).__name__})"
                self._sleep(None, attempt)
                continue
            except requests.Timeout:
                unreachable, last_problem = False, f"no answer within {endpoint.timeout_s:g} s"
                self._sleep(None, attempt)
                continue
            unreachable = False
            status = response.status_code
            if status in (401, 403):
                raise EndpointError(
                    f"{endpoint.label} refused the key (HTTP {status}: {_message(response)}); "
                    f"check the key in ${endpoint.api_key_env or '(api_key_env not set)'}"
                )
            if status == 404:
                raise EndpointError(
                    f"{endpoint.label} answered 404 ({_message(response)}); check base_url "
                    "(it should end before /chat/completions, e.g. .../v1) and model"
                )
            if status in RETRYABLE_STATUS or status >= 500:
                last_problem = f"HTTP {status}: {_message(response)}"
                self._sleep(retry_after_seconds(response.headers), attempt)
                continue
            if status >= 400:
                return ChatReply(error=f"HTTP {status}: {_message(response)}", attempts=attempt + 1)
            return parse_completion(response, attempt + 1)
        if unreachable:
            raise EndpointError(
                f"{endpoint.label} is unreachable after {endpoint.max_retries + 1} tries "
                f"({last_problem}); check base_url and that the server runs"
            )
        return ChatReply(
            error=f"gave up after {endpoint.max_retries + 1} tries: {last_problem}",
            attempts=endpoint.max_retries + 1,
        )

    def _sleep(self, retry_after: float | None, attempt: int) -> None:
        if attempt >= self.endpoint.max_retries:
            return
        if retry_after is not None and 0 <= retry_after <= MAX_HONOURED_RETRY_AFTER_S:
            time.sleep(retry_after)
            return
        backoff = min(INITIAL_BACKOFF_S * 2**attempt, self.endpoint.max_backoff_s)
        time.sleep(backoff * (1 - 0.25 * random.random()))


def retry_after_seconds(headers: requests.structures.CaseInsensitiveDict) -> float | None:
    """The server's requested wait: ``retry-after-ms``, else ``retry-after`` as seconds or an
    HTTP date (RFC 9110 section 10.2.3); ``None`` when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def parse_completion(response: requests.Response, attempts: int) -> ChatReply:
    """The text and token usage of a 200 ``ChatCompletion``, or the reason it is unusable."""
    try:
        payload = response.json()
        message = payload["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return ChatReply(error="malformed response: no choices[0].message", attempts=attempts)
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        refusal = message.get("refusal") if isinstance(message, dict) else None
        reason = f"refused: {refusal}" if refusal else "empty message content"
        return ChatReply(error=reason, attempts=attempts)
    usage = payload.get("usage") or {}
    return ChatReply(
        text=content,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        attempts=attempts,
    )


def _message(response: requests.Response) -> str:
    """The error message of an OpenAI-style error body, else the start of the body."""
    try:
        error = response.json().get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    except (ValueError, AttributeError):
        pass
    return response.text[:200] or response.reason or "no body"
