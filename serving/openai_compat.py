"""``POST /v1/moderations``: the guard behind OpenAI's moderation API shape.

Gateways and SDKs that already call a moderation API (the official ``openai`` client with
``base_url`` set to the guard's ``/v1``) use the guard without code changes. Request and reply
follow ``openai.types.ModerationCreateParams`` and ``ModerationCreateResponse``:

- request ``{"input": str | [str] | [{"type": "text", "text": str}], "model"?: str}``; every
  input is one text judged on its own (``task: "prompt"``: the prompt-task template).
  ``model`` is accepted and ignored: the service answers with the model it serves and names it
  in the reply. Image inputs are refused (422): the guard reads text only;
- reply ``{"id": "modr-...", "model": "NAME:VERSION", "results": [...]}``, one result per input
  in order, each ``{"flagged", "categories", "category_scores",
  "category_applied_input_types"}`` plus the guard's own ``score``, ``verdict`` and ``label``.

Categories: the guard gives one score, P(不安全) under Libra's safety standard, not one per
OpenAI category, so it reports a single category ``unsafe`` (``categories.unsafe == flagged``,
``category_scores.unsafe == score``). It does not claim OpenAI's named categories (``hate``,
``violence``, ...) either way: a client that reads only ``flagged`` works unchanged, one that
reads a named category must read ``unsafe`` instead.

Errors use OpenAI's body, ``{"error": {"message", "type", "param", "code"}}``, with the same
statuses as ``/v1/moderate`` (400 bad JSON, 401 key, 413 limits, 415 content type, 422 schema,
503 overloaded), so the ``openai`` client raises its matching exception.
"""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.auth import BearerAuth
from serving.backend import GuardBackend, build_results, to_pair
from serving.config import ServingConfig
from serving.http_errors import ApiError
from serving.parsing import check_content_type, check_limits, decode_json, read_body
from serving.schemas import ItemResult, ModerationItem

#: The one category the guard reports (see the module docstring).
CATEGORY = "unsafe"


class TextInput(BaseModel):
    """A multi-modal input part; only text parts are accepted."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["text"] = Field(description="Only 'text': the guard reads no images.")
    text: str


class OpenAIModerationRequest(BaseModel):
    """OpenAI's moderation request (``ModerationCreateParams``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    input: str | list[str] | list[TextInput] = Field(
        description="One text, a list of texts, or a list of {type: text, text} parts."
    )
    model: str | None = Field(
        default=None, description="Accepted for compatibility; the served model answers."
    )


class OpenAIModeration(BaseModel):
    """One result, in OpenAI's shape plus the guard's score, verdict and label."""

    flagged: bool = Field(
        description="The guard's verdict is unsafe (the controversial band per level_policy)."
    )
    categories: dict[str, bool] = Field(description="{'unsafe': flagged}.")
    category_scores: dict[str, float] = Field(description="{'unsafe': P(不安全)}.")
    category_applied_input_types: dict[str, list[str]] = Field(description="{'unsafe': ['text']}.")
    score: float = Field(description="P(不安全) at the verdict position.")
    verdict: Literal["safe", "unsafe"]
    level: Literal["safe", "controversial", "unsafe"]
    label: Literal["安全", "不安全"]


class OpenAIModerationResponse(BaseModel):
    """OpenAI's moderation reply (``ModerationCreateResponse``)."""

    id: str
    model: str = Field(description="NAME:VERSION of the model that judged the inputs.")
    results: list[OpenAIModeration]


def install_openai_routes(
    app: FastAPI, backend: GuardBackend, config: ServingConfig, auth: BearerAuth
) -> None:
    """Add ``POST /v1/moderations`` to ``app``."""

    @app.post(
        "/v1/moderations",
        response_model=OpenAIModerationResponse,
        summary="OpenAI-compatible moderation (one category: unsafe)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": OpenAIModerationRequest.model_json_schema()}
                },
            }
        },
    )
    async def moderations(request: Request) -> JSONResponse:
        try:
            auth.check(request.headers.get("authorization"))
            check_content_type(request.headers.get("content-type"))
            body = await read_body(
                request.stream(), request.headers.get("content-length"), config.max_body_bytes
            )
            items = parse_openai_request(decode_json(body), config)
            scored = await backend.score([to_pair(item) for item in items])
        except ApiError as exc:
            return openai_error(exc)
        results = build_results(items, scored, None, config.threshold, config.level_policy)
        model = f"{scored[0].model.name}:{scored[0].model.version}"
        reply = OpenAIModerationResponse(
            id=f"modr-{uuid.uuid4().hex}",
            model=model,
            results=[to_openai_result(result) for result in results],
        )
        return JSONResponse(reply.model_dump())


def parse_openai_request(value: object, config: ServingConfig) -> list[ModerationItem]:
    """The texts of an OpenAI moderation request as guard items, or a 4xx ``ApiError``."""
    if not isinstance(value, dict):
        raise ApiError(
            422, "invalid_request", f"the body must be a JSON object, not {type(value).__name__}"
        )
    _refuse_images(value.get("input"))
    try:
        request = OpenAIModerationRequest.model_validate(value)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", _describe(exc)) from exc
    texts = _texts(request.input)
    if not texts:
        raise ApiError(422, "invalid_request", "input: give at least one text")
    items = []
    for index, text in enumerate(texts):
        try:
            items.append(ModerationItem(question=text))
        except ValidationError as exc:
            where = "input" if isinstance(request.input, str) else f"input[{index}]"
            message = _describe(exc, bare=True)
            raise ApiError(422, "invalid_request", f"{where}: {message}") from exc
    check_limits(items, config)
    return items


def to_openai_result(result: ItemResult) -> OpenAIModeration:
    """A guard result in OpenAI's shape."""
    flagged = result.verdict == "unsafe"
    return OpenAIModeration(
        flagged=flagged,
        categories={CATEGORY: flagged},
        category_scores={CATEGORY: result.score},
        category_applied_input_types={CATEGORY: ["text"]},
        score=result.score,
        verdict=result.verdict,
        level=result.level,
        label=result.label,
    )


def openai_error(exc: ApiError) -> JSONResponse:
    """``exc`` as OpenAI's error body, same status and headers."""
    kind = "invalid_request_error" if exc.status < 500 else "server_error"
    body = {"error": {"message": exc.message, "type": kind, "param": None, "code": exc.code}}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers or None)


def _texts(value: str | list[str] | list[TextInput]) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [part.text if isinstance(part, TextInput) else part for part in value]


def _refuse_images(value: object) -> None:
    if isinstance(value, list) and any(
        isinstance(part, dict) and part.get("type") == "image_url" for part in value
    ):
        raise ApiError(
            422, "unsupported_input", "input: image parts are not supported; the guard reads text"
        )


def _describe(exc: ValidationError, bare: bool = False) -> str:
    """Pydantic's errors as one phrase; ``input`` union errors as the accepted shapes."""
    errors = exc.errors()
    if not bare and any(error["loc"][:1] == ("input",) for error in errors):
        return "input: must be a string, a list of strings or a list of {type: text, text} parts"
    error = errors[0]
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field (expected input, model)"
    where = ".".join(str(part) for part in error["loc"])
    return message if bare or not where else f"{where}: {message}"
