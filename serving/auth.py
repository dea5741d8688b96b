"""Optional bearer-token auth: with ``LIBRA_API_KEY`` set, ``/v1/*`` needs
``Authorization: Bearer <key>``.

The comparison is constant-time (``hmac.compare_digest`` on bytes), so response timing does not
leak how much of a guess was right. Neither the expected nor the presented token is ever
logged or echoed in an error message. Health and the OpenAPI schema stay open: probes and
clients discovering the API carry no secrets.
"""

from __future__ import annotations

import hmac
import os

from serving.http_errors import ApiError

API_KEY_ENV = "LIBRA_API_KEY"
_SCHEME = "bearer"


def api_key_from_env() -> str | None:
    """The configured key, or ``None`` (auth off) when the variable is unset or empty."""
    return os.environ.get(API_KEY_ENV) or None


class BearerAuth:
    """Checks the ``Authorization`` header against the configured key."""

    def __init__(self, api_key: str | None) -> None:
        self._expected = api_key.encode("utf-8") if api_key else None

    @property
    def enabled(self) -> bool:
        return self._expected is not None

    def check(self, authorization: str | None) -> None:
        """Raise a 401 ``ApiError`` unless auth is off or the header carries the key."""
        if self._expected is None:
            return
        challenge = {"WWW-Authenticate": 'Bearer realm="libra-guard"'}
        if not authorization:
            raise ApiError(401, "unauthorized", "missing Authorization: Bearer <key>", challenge)
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != _SCHEME or not presented.strip():
            raise ApiError(
                401, "unauthorized", "the Authorization header must be 'Bearer <key>'", challenge
            )
        # Encode with surrogateescape-free UTF-8; header values are latin-1 decoded by ASGI,
        # so any byte sequence round-trips without raising.
        candidate = presented.strip().encode("utf-8", errors="replace")
        if not hmac.compare_digest(candidate, self._expected):
            raise ApiError(401, "unauthorized", "the API key is not valid", challenge)
