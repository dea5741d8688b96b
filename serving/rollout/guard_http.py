"""The guard's HTTP API as a rollout sees it: JSON requests, and waiting for ``/v1/model``.

Both rollouts confirm a switch the same way: traffic counts as moved only when ``GET
/v1/model`` names the new version several times in a row, because each Serve proxy and each
API replica picks up a change on its own, and one good answer can come from the one replica
that already has it. The RayService rollout also sends its smoke set over HTTP, through a
route that appears a moment after its application runs; answers that mean "not routed yet"
(no connection, 404, 503) are therefore told apart from real errors and may be retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from serving.auth import api_key_from_env
from serving.rollout.base import RolloutError


class NotRouted(RolloutError):
    """The guard did not answer at that URL (yet); a moment later it may."""


class GuardHttp:
    """JSON calls to the guard API at ``url``, with the deployment's API key if one is set."""

    def __init__(self, url: str, *, poll_s: float, request_timeout_s: float) -> None:
        self.url = url.rstrip("/")
        self.poll_s = poll_s
        self.request_timeout_s = request_timeout_s

    def request(
        self, method: str, path: str, body: dict | None = None, *, retry_s: float = 0.0
    ) -> dict:
        """The JSON answer to ``method path``; "not routed yet" answers are retried for
        ``retry_s`` seconds.

        Raises:
            NotRouted: still no route when ``retry_s`` ran out.
            RolloutError: any other error answer (status and the API's message).
        """
        deadline = time.monotonic() + retry_s
        while True:
            try:
                return self._request_once(method, f"{self.url}{path}", body)
            except NotRouted:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(self.poll_s)

    def wait_for_model(
        self,
        wanted: Callable[[dict], bool],
        what: str,
        *,
        timeout_s: float,
        confirmations: int,
    ) -> None:
        """Return once ``GET /v1/model`` satisfies ``wanted`` ``confirmations`` times in a row
        (an answer that does not, or an error, resets the count).

        Raises:
            RolloutError: not confirmed within ``timeout_s``; says what the last answer was.
        """
        deadline = time.monotonic() + timeout_s
        confirmed, last = 0, "no answer yet"
        while True:
            try:
                model = self.request("GET", "/v1/model")
                last = f"version {model.get('version')}, aliases {model.get('aliases')}"
                confirmed = confirmed + 1 if wanted(model) else 0
            except RolloutError as exc:
                confirmed, last = 0, str(exc)
            if confirmed >= confirmations:
                return
            if time.monotonic() >= deadline:
                raise RolloutError(
                    f"{self.url}/v1/model did not report {what} within {timeout_s:.0f}s "
                    f"(last: {last})"
                )
            time.sleep(self.poll_s)

    def _request_once(self, method: str, url: str, body: dict | None) -> dict:
        headers = {}
        key = api_key_from_env()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            answer = requests.request(
                method, url, json=body, headers=headers, timeout=self.request_timeout_s
            )
        except requests.RequestException as exc:
            raise NotRouted(
                f"cannot reach the guard at {url} ({type(exc).__name__}); set LIBRA_GUARD_URL "
                "to where the guard's Serve answers"
            ) from exc
        try:
            payload = answer.json()
        except ValueError:
            payload = None
        if not answer.ok or not isinstance(payload, dict):
            message = payload.get("message") if isinstance(payload, dict) else None
            error = NotRouted if answer.status_code in (404, 503) else RolloutError
            raise error(f"{url} answered {answer.status_code}: {message or answer.text[:300]}")
        return payload
