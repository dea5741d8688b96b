"""Bearer-token auth of ``/v1/*`` (``Authorization: Bearer <key>``, the key in ``LIBRA_API_KEY``).

It fails closed: auth is required whenever the server binds an address other than loopback
(or an address it cannot tell), unless ``auth_required: false`` says otherwise; a required
key that is unset or blank refuses to start with a message naming the variable, instead of
quietly serving everyone. The key is stripped of surrounding whitespace (a trailing newline
from a Secret file is not part of it). Running without auth logs a warning.

The comparison is constant-time (``hmac.compare_digest`` on bytes), so response timing does not
leak how much of a guess was right. Neither the expected nor the presented token is ever
logged or echoed in an error message. Health and the OpenAPI schema stay open: probes and
clients discovering the API carry no secrets.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os

from libra_guard.errors import ConfigError
from serving.http_errors import ApiError

logger = logging.getLogger(__name__)

API_KEY_ENV = "LIBRA_API_KEY"
_SCHEME = "bearer"


def api_key_from_env() -> str | None:
    """The configured key without surrounding whitespace, or ``None`` when unset or blank."""
    return (os.environ.get(API_KEY_ENV) or "").strip() or None


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is reachable only from this machine (``None``: not known, so no)."""
    if host is None:
        return False
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def server_api_key(bind_host: str | None, required: bool | None) -> str | None:
    """The key the server checks, or ``None`` when auth is off by choice.

    ``required``: ``None`` means required unless ``bind_host`` is a loopback address.

    Raises:
        ConfigError: auth is required but ``LIBRA_API_KEY`` is unset or blank.
    """
    key = api_key_from_env()
    if required is None:
        required = not is_loopback(bind_host)
    if required and key is None:
        where = bind_host or "an address not known to be loopback"
        raise ConfigError(
            f"{API_KEY_ENV} is unset or empty, but the guard API requires auth (it listens on "
            f"{where}); set {API_KEY_ENV} to the bearer key clients send, or set "
            "serving.auth_required: false to run without auth on a trusted network"
        )
    if key is None:
        logger.warning(
            "the guard API runs WITHOUT authentication (%s is not set); anyone who can reach "
            "%s can call it",
            API_KEY_ENV,
            bind_host,
        )
    return key


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
