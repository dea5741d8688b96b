"""A small client of the guard API: what ``libra-guard moderate`` sends and reads."""

from __future__ import annotations

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
