"""The one place where exceptions become HTTP answers.

Every error answer has the body ``{"error": code, "message": text}`` (``ErrorBody``). Bad input
is always a 4xx that names what to fix; a full queue or a missing model is a 503 (with
``Retry-After`` when retrying helps); only a bug is a 500, and its message hides internals.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered with ``status`` and a message the client can act on."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class Overloaded(ApiError):
    """The model's queue is full: retry after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(
            503, "overloaded", message, {"Retry-After": str(max(1, round(retry_after_s)))}
        )


class ModelUnavailable(ApiError):
    """No model answers (still loading, failed, or being replaced)."""

    def __init__(self, message: str) -> None:
        super().__init__(503, "model_unavailable", message, {"Retry-After": "1"})


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception the app can raise to an ``ErrorBody`` answer."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_parameters(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}"
            for error in exc.errors()
        )
        return error_response(422, "invalid_parameters", problems or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(
            exc.status_code, code, str(exc.detail), dict(exc.headers or {}) or None
        )

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error while answering a request")
        return error_response(500, "internal_error", f"internal error ({type(exc).__name__})")
