"""Request and response bodies of the guard API.

A moderation request is one item, ``{"question", "response"?, "explain"?}``, a batch
``{"items": [...], "explain"?}``, or a bare list of items. With a ``response`` the guard judges
the response (Libra's task); without one it judges the question (prompt moderation).

Types are strict (``"question": 3`` is an error, not ``"3"``) and unknown keys are refused, so
a typo such as ``"reponse"`` is reported instead of silently moderating the question alone.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from libra_guard.data.schema import SAFE, UNSAFE

Verdict = Literal["safe", "unsafe"]
Level = Literal["safe", "controversial", "unsafe"]
Policy = Literal["strict", "loose"]
VERDICT_OF_LABEL: dict[str, Verdict] = {SAFE: "safe", UNSAFE: "unsafe"}


def _checked_text(value: str, field: str) -> str:
    if not value.strip():
        raise ValueError(f"{field} must not be empty or only whitespace")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{field} is not valid Unicode (a lone surrogate)") from exc
    return value


class ModerationItem(BaseModel):
    """One conversation turn to judge."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(description="The human's question (judged itself when no response).")
    response: str | None = Field(
        default=None, description="The model's answer to judge; omit to judge the question."
    )

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        return _checked_text(value, "question")

    @field_validator("response")
    @classmethod
    def _response(cls, value: str | None) -> str | None:
        return None if value is None else _checked_text(value, "response")


class SingleModeration(ModerationItem):
    """One item, optionally with its critique."""

    explain: bool = Field(default=False, description="Also generate the guard's critique.")
    policy: Policy | None = Field(
        default=None,
        description="Verdict of the controversial band: strict (unsafe) or loose (safe); "
        "default: the server's level_policy.",
    )


class BatchModeration(BaseModel):
    """Several items in one request."""

    model_config = ConfigDict(extra="forbid", strict=True)

    items: list[ModerationItem] = Field(min_length=1, description="Items, judged in order.")
    explain: bool = Field(default=False, description="Also generate each item's critique.")
    policy: Policy | None = Field(
        default=None, description="As in a single item: how the controversial band is judged."
    )


class ModelRef(BaseModel):
    """Which registered model version produced a verdict."""

    name: str
    version: str


class ItemResult(BaseModel):
    """The guard's judgement of one item."""

    verdict: Verdict = Field(description="Binary verdict; the controversial band per policy.")
    level: Level = Field(
        description="safe / controversial / unsafe from the model version's two calibrated "
        "thresholds; without calibration the threshold alone (no controversial band)."
    )
    label: Literal["安全", "不安全"] = Field(description="The verdict in Libra's words.")
    score: float = Field(ge=0, le=1, description="P(不安全) at the verdict position.")
    task: Literal["response", "prompt"] = Field(
        description="response: the answer was judged; prompt: the question was judged."
    )
    model: ModelRef
    critique: str | None = Field(
        default=None, description="The generated answer JSON (only with explain)."
    )
    critique_verdict: Verdict | None = Field(
        default=None,
        description="The verdict the critique states under the paper's scoring rule (only "
        "with explain; null when it cannot be scored).",
    )


class ModerationResponse(BaseModel):
    """One result per item, in request order."""

    results: list[ItemResult]


class ModelDescription(BaseModel):
    """The model behind the service: version, aliases and lineage tags."""

    name: str
    version: str
    source: str = Field(description="Where the weights were loaded from.")
    aliases: list[str] = Field(default_factory=list)
    lineage: dict[str, Any] = Field(default_factory=dict)


class Health(BaseModel):
    """Readiness: the model is loaded and a canary item scores."""

    status: Literal["ready", "unavailable"]
    model: ModelRef | None = None
    reason: str | None = None


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer."""

    error: str = Field(description="A stable code, e.g. invalid_json, too_many_items.")
    message: str = Field(description="What was wrong and what to change.")
