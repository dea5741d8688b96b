"""Raw request body -> validated moderation request, or a 4xx naming what to fix.

The body is read and decoded here rather than by FastAPI's body binding because each kind of
bad input needs its own status: 415 for a wrong content type, 413 for a body, text or item
count over the limits, 400 for bytes that are not UTF-8 JSON, 422 for JSON of the wrong
shape. FastAPI's default would answer most of these 422 and some odd inputs (deeply nested
arrays, 5,000-digit numbers) with a 500.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from serving.config import ServingConfig
from serving.http_errors import ApiError
from serving.schemas import BatchModeration, ModerationItem, Policy, SingleModeration

JSON_MEDIA_TYPE = "application/json"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ParsedModeration:
    """Items to judge, in order, and whether to generate critiques."""

    items: list[ModerationItem]
    explain: bool
    policy: Policy | None = None


def check_content_type(content_type: str | None) -> None:
    """Raise 415 unless the body is declared as UTF-8 JSON."""
    media_type, _, parameters = (content_type or "").partition(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        shown = content_type or "none"
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the body as Content-Type: application/json (got {shown!r})",
        )
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise ApiError(
                415, "unsupported_media_type", "the JSON body must be UTF-8 (charset=utf-8)"
            )


async def read_body(
    chunks: AsyncIterator[bytes], content_length: str | None, limit_bytes: int
) -> bytes:
    """The whole body, refused with 413 as soon as it passes ``limit_bytes``."""
    too_large = ApiError(
        413, "body_too_large", f"the request body is over {limit_bytes} bytes (max_body_bytes)"
    )
    declared = (content_length or "").strip()
    if declared.isdigit() and int(declared) > limit_bytes:
        raise too_large
    body = bytearray()
    async for chunk in chunks:
        body.extend(chunk)
        if len(body) > limit_bytes:
            raise too_large
    return bytes(body)


def decode_json(body: bytes) -> object:
    """The JSON value of a UTF-8 body; 400 for anything else."""
    if not body.strip():
        raise ApiError(400, "invalid_json", "the request body is empty; send a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"the body is not valid UTF-8 (byte {exc.start})"
        ) from exc
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ApiError(400, "invalid_json", "the JSON is nested too deeply") from exc
    except ValueError as exc:
        # JSONDecodeError, and the int-size guard on numbers of thousands of digits.
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc


def parse_moderation(
    value: object,
    config: ServingConfig,
    explain_param: bool | None = None,
    *,
    text_limit: int | None = None,
) -> ParsedModeration:
    """Validate the decoded JSON as an item, a batch ``{"items": [...]}`` or a list of items.

    ``explain_param`` (the ``?explain=`` query parameter) wins over the body's ``explain``.
    ``text_limit`` is the model's character limit (``max_windows`` of its windows); the
    item count is checked before any item is validated, so a huge list costs nothing.
    """
    raw_items = value if isinstance(value, list) else None
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        raw_items = value["items"]
    if raw_items is not None:
        _check_count(len(raw_items), config)
    if isinstance(value, list):
        batch = _validated(BatchModeration, {"items": value}, strip_prefix=True)
        items, explain, policy = batch.items, False, None
    elif isinstance(value, dict) and "items" in value:
        batch = _validated(BatchModeration, value)
        items, explain, policy = batch.items, batch.explain, batch.policy
    elif isinstance(value, dict):
        single = _validated(SingleModeration, value)
        items = [ModerationItem(question=single.question, response=single.response)]
        explain, policy = single.explain, single.policy
    else:
        raise ApiError(
            422,
            "invalid_request",
            "the body must be an object {question, response?}, {items: [...]} or a list of "
            f"items, not a JSON {type(value).__name__}",
        )
    check_limits(items, config, text_limit)
    return ParsedModeration(items, explain if explain_param is None else explain_param, policy)


def check_limits(
    items: list[ModerationItem], config: ServingConfig, text_limit: int | None = None
) -> None:
    """413 when there are too many items or a text is too long."""
    _check_count(len(items), config)
    limits = [limit for limit in (text_limit, config.max_chars) if limit is not None]
    if not limits:
        return
    limit = min(limits)
    named = "max_chars" if limit == config.max_chars else "max_windows of the model's window"
    for index, item in enumerate(items):
        for field, text in (("question", item.question), ("response", item.response)):
            if text is not None and len(text) > limit:
                where = field if len(items) == 1 else f"items[{index}].{field}"
                raise ApiError(
                    413,
                    "text_too_long",
                    f"{where} has {len(text)} characters; the limit is {limit} ({named})",
                )


def _check_count(count: int, config: ServingConfig) -> None:
    if count > config.max_items:
        raise ApiError(
            413,
            "too_many_items",
            f"{count} items in one request; the limit is {config.max_items} (max_items)",
        )


def _validated(model: type[M], value: object, strip_prefix: bool = False) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", _describe(exc, strip_prefix)) from exc


def _describe(exc: ValidationError, strip_prefix: bool) -> str:
    """Pydantic's errors as ``where: what`` phrases, at most five."""
    phrases = []
    for error in exc.errors()[:5]:
        location = list(error["loc"])
        if strip_prefix and location[:1] == ["items"]:
            location = location[1:]
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in location
        ).lstrip(".")
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (expected question, response, explain, policy, items)"
        phrases.append(f"{where or 'body'}: {message}")
    more = len(exc.errors()) - len(phrases)
    return "; ".join(phrases) + (f"; and {more} more" if more > 0 else "")
