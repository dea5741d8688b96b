"""``create_api``: the guard's HTTP API as a FastAPI app, over any ``GuardBackend``.

Endpoints:

- ``POST /v1/moderate``: one item, ``{"items": [...]}`` or a list of items; per item the
  verdict (``safe``/``unsafe``), Libra's label, P(不安全), the model version and, with
  ``explain``, the generated critique.
- ``POST /v1/moderations``: OpenAI's moderation API shape (``openai_compat``).
- ``WS /v1/moderate/stream``: a response judged while it is generated (``stream``).
- ``GET /v1/model``: the model version, its aliases and lineage tags.
- ``GET /healthz``: 200 only when the model is loaded and a canary item scores, else 503.
- ``GET /openapi.json`` and ``GET /docs``: the schema, request bodies included.

The Serve ingress (``app.GuardAPI``) and the plain baseline (``plain``) both serve this app;
only the backend differs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import TypeAdapter

from serving.auth import BearerAuth
from serving.backend import GuardBackend, build_results, to_pair
from serving.config import ServingConfig
from serving.http_errors import ApiError, install_error_handlers
from serving.observer import DecisionObserver
from serving.openai_compat import install_openai_routes
from serving.parsing import check_content_type, decode_json, parse_moderation, read_body
from serving.schemas import (
    BatchModeration,
    ErrorBody,
    Health,
    ModerationItem,
    ModerationResponse,
    PublicModel,
    SingleModeration,
)
from serving.stream import install_stream_route

API_TITLE = "Libra-Guard"
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "The body is not UTF-8 JSON.",
        401: "Missing or wrong API key (whenever the server requires auth).",
        413: "Body, text or item count over the limits.",
        415: "The body is not application/json.",
        422: "JSON of the wrong shape: missing fields, wrong types, empty strings.",
        503: "The queue is full or no model is ready; retry after Retry-After seconds.",
        504: "The model did not answer within request_timeout_s (explain_timeout_s).",
    }.items()
}


def create_api(
    backend: GuardBackend,
    config: ServingConfig,
    api_key: str | None = None,
    observer: DecisionObserver | None = None,
) -> FastAPI:
    """The FastAPI app answering with ``backend``; ``api_key`` turns bearer auth on;
    ``observer`` sees every request and decision (metrics, capture)."""
    app = FastAPI(
        title=API_TITLE,
        version="1",
        description="Chinese content-safety guard (Libra-Guard protocol).",
    )
    install_error_handlers(app)
    observer = observer or DecisionObserver()
    observer.install(app)
    auth = BearerAuth(api_key)
    bearer = HTTPBearer(auto_error=False, description="LIBRA_API_KEY, when the server sets it")

    async def require_key(request: Request, _: object = Depends(bearer)) -> None:
        auth.check(request.headers.get("authorization"))

    @app.post(
        "/v1/moderate",
        response_model=ModerationResponse,
        response_model_exclude_none=True,
        responses=_ERRORS,
        dependencies=[Depends(require_key)],
        openapi_extra={"requestBody": _request_body_schema(config)},
        summary="Judge responses (or prompts) for safety",
    )
    async def moderate(
        request: Request,
        explain: bool | None = Query(
            default=None, description="Generate critiques; overrides the body's explain."
        ),
    ) -> ModerationResponse:
        check_content_type(request.headers.get("content-type"))
        body = await read_body(
            request.stream(), request.headers.get("content-length"), config.max_body_bytes
        )
        value = decode_json(body)
        parsed = parse_moderation(value, config, explain, text_limit=await backend.text_limit())
        pairs = [to_pair(item) for item in parsed.items]
        scored = await _within(backend.score(pairs), config.request_timeout_s, "request")
        critiques = None
        if parsed.explain:
            critiques = await _within(backend.explain(pairs), config.explain_timeout_s, "explain")
        results = build_results(
            parsed.items,
            scored,
            critiques,
            config.threshold,
            parsed.policy or config.level_policy,
        )
        await observer.decided(parsed.items, results)
        return ModerationResponse(results=results)

    install_openai_routes(app, backend, config, auth)
    install_stream_route(app, backend, config, auth)

    @app.get(
        "/v1/model",
        response_model=PublicModel,
        responses={401: _ERRORS[401], 503: _ERRORS[503]},
        dependencies=[Depends(require_key)],
        summary="The model version, aliases, limits and allow-listed lineage",
    )
    async def model() -> PublicModel:
        return PublicModel.of(await backend.describe())

    @app.get(
        "/healthz",
        response_model=Health,
        responses={503: {"model": Health, "description": "Not ready."}},
        summary="Ready when the model is loaded and a canary item scores",
    )
    async def healthz() -> JSONResponse:
        health = await backend.health()
        status = 200 if health.status == "ready" else 503
        return JSONResponse(health.model_dump(exclude_none=True), status_code=status)

    app.openapi = lambda: _openapi_with_bodies(app, config)  # type: ignore[method-assign]
    return app


async def _within(work, timeout_s: float, what: str):
    """``work``, or a 504 naming the limit once ``timeout_s`` passes (the call is cancelled)."""
    try:
        return await asyncio.wait_for(work, timeout_s)
    except TimeoutError as exc:
        limit = "explain_timeout_s" if what == "explain" else "request_timeout_s"
        raise ApiError(
            504, "timeout", f"the model did not answer the {what} within {timeout_s:g}s ({limit})"
        ) from exc


def _body_adapter() -> TypeAdapter:
    return TypeAdapter(SingleModeration | BatchModeration | list[ModerationItem])


def _request_body_schema(config: ServingConfig) -> dict:
    """The ``requestBody`` of ``/v1/moderate``: the three accepted shapes, with the limits."""
    schema = _body_adapter().json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    for option in schema.get("anyOf", []):
        if option.get("type") == "array":
            option.update(minItems=1, maxItems=config.max_items)
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _openapi_with_bodies(app: FastAPI, config: ServingConfig) -> dict:
    """FastAPI's schema plus the request-body models it cannot see (the body is read raw)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    definitions = _body_adapter().json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in definitions.get("$defs", {}).items():
        for field in ("question", "response"):
            # The model's own limit is known only once it loads; the schema shows the cap.
            if config.max_chars is not None:
                _limit_text(definition.get("properties", {}).get(field), config.max_chars)
        items = definition.get("properties", {}).get("items")
        if items is not None:
            items["maxItems"] = config.max_items
        components.setdefault(name, definition)
    app.openapi_schema = schema
    return schema


def _limit_text(property_schema: dict | None, max_chars: int) -> None:
    if property_schema is None:
        return
    for option in property_schema.get("anyOf", [property_schema]):
        if option.get("type") == "string":
            option.update(minLength=1, maxLength=max_chars)
