"""Turn one parsed JSON value into a ``GuardRow``, or say in plain words why it cannot be one.

Strict reading (``read_rows``) stops at the first problem; validation (``validate_file``)
quarantines the row with the same reason. Keeping the checks in one place makes both speak the
same language: "missing field 'label'", "unknown label '危险' (expected 安全 or 不安全)".
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from libra_guard.data.schema import (
    LABELS,
    PROMPT_REQUIRED_FIELDS,
    PROMPT_TASK,
    REQUIRED_FIELDS,
    TASKS,
    GuardRow,
)

#: Fields whose text the guard reads; a blank or over-long value makes the row useless.
TEXT_FIELDS = ("question", "response")


class RowProblem(ValueError):
    """A record that is not a valid row. ``kind`` groups reasons for a histogram."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _check_storable(value: Any, where: str) -> None:
    """Refuse what cannot be written back as valid UTF-8 JSON: a lone surrogate (a ``\\ud800``
    escape decodes to one) in any key or string, and NaN or Infinity in any number.

    Raises:
        RowProblem: naming the field.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            _check_text(str(key), path)
            _check_storable(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_storable(item, f"{where}[{index}]")
    elif isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise RowProblem(
            "invalid number", f"field '{where}' is {value}, which JSON cannot represent"
        )


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RowProblem(
            "invalid Unicode",
            f"field '{where}' has a lone surrogate at character {exc.start}; it cannot be "
            "stored as UTF-8",
        ) from exc


def parse_row(value: Any, *, max_chars: int | None = None) -> GuardRow:
    """Check one record against the Libra-Test schema and build the row.

    An integer ``id`` is accepted and stored as its decimal string, since some exports of
    Libra-style data number their rows. ``max_chars`` (characters, not bytes) bounds the
    question and the response; ``None`` means no bound.

    A record without ``task`` is a response row (Libra's task). A ``task: "prompt"`` row
    labels its question alone and has no response (absent, null or empty).

    Raises:
        RowProblem: the first problem found, with a reason a person can act on.
    """
    if not isinstance(value, dict):
        raise RowProblem("not an object", f"row is a JSON {_json_type(value)}, expected an object")
    _check_storable(value, "")
    fields = dict(value)
    required = _required_fields(fields)
    for field in required:
        if field not in value:
            raise RowProblem("missing field", f"missing field '{field}'")
        if value[field] is None:
            raise RowProblem("missing field", f"field '{field}' is null")
    if isinstance(fields["id"], int) and not isinstance(fields["id"], bool):
        fields["id"] = str(fields["id"])
    for field in required:
        if not isinstance(fields[field], str):
            raise RowProblem(
                "wrong type",
                f"field '{field}' must be a string, got {_json_type(fields[field])}",
            )
    analyze = fields.get("analyze")
    if analyze is not None and not isinstance(analyze, str):
        raise RowProblem(
            "wrong type", f"field 'analyze' must be a string or null, got {_json_type(analyze)}"
        )
    if fields["label"] not in LABELS:
        raise RowProblem(
            "unknown label",
            f"unknown label '{fields['label']}' (expected {LABELS[0]} or {LABELS[1]})",
        )
    texts = TEXT_FIELDS if "response" in required else ("question",)
    for field in ("id", "source", *texts):
        if not fields[field].strip():
            raise RowProblem("empty text", f"empty text in '{field}'")
    if max_chars is not None:
        for field in texts:
            length = len(fields[field])
            if length > max_chars:
                raise RowProblem("too long", f"{field} is {length} characters (limit {max_chars})")
    try:
        return GuardRow.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RowProblem("schema", f"field '{where}': {first['msg']}") from exc


def _required_fields(fields: dict) -> tuple[str, ...]:
    """The fields a record of its task needs; drops a prompt row's empty response.

    Raises:
        RowProblem: an unknown ``task``, or a prompt row that carries a response.
    """
    task = fields.get("task")
    if task is None:
        fields.pop("task", None)
        return REQUIRED_FIELDS
    if task not in TASKS:
        raise RowProblem(
            "unknown task", f"unknown task {task!r} (expected {TASKS[0]} or {TASKS[1]})"
        )
    if task != PROMPT_TASK:
        return REQUIRED_FIELDS
    response = fields.pop("response", None)
    if response not in (None, ""):
        raise RowProblem(
            "prompt row with response",
            "a task 'prompt' row labels its question alone and must not carry a response; "
            "make it a response row (no task) or drop the response",
        )
    return PROMPT_REQUIRED_FIELDS
