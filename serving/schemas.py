"""Request and response bodies of the guard API.

A moderation request is one item, ``{"question", "response"?, "explain"?}``, a batch
``{"items": [...], "explain"?}``, or a bare list of items. With a ``response`` the guard judges
the response (Libra's task); without one it judges the question (prompt moderation, our
prompt-task template, ``libra_guard.modeling.prompt``).

Types are strict (``"question": 3`` is an error, not ``"3"``) and unknown keys are refused, so
a typo such as ``"reponse"`` is reported instead of silently moderating the question alone.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from libra_guard.data.schema import SAFE, UNSAFE
from libra_guard.tracking.lineage import source_name

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
    score: float = Field(
        ge=0, le=1, description="P(不安全) at the verdict position; the maximum over windows."
    )
    windows: int = Field(
        ge=1,
        description="Windows read: a text longer than the model's window is read in "
        "overlapping windows, none cut.",
    )
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


#: Lineage fields ``/v1/model`` shows; others (checkpoint folders, artifact locations, run
#: ids of the tracking server) describe the platform's insides and stay private.
#: ``data_sources`` is shown as names and digests only (``public_sources``), never locations.
PUBLIC_LINEAGE_FIELDS = (
    "model_uri",
    "status",
    "created",
    "dataset_digests",
    "data_sources",
    "git_commit",
    "base_model",
    "gate_decision",
)


class ModelDescription(BaseModel):
    """The model behind the service: version, aliases and lineage tags (all of them)."""

    name: str
    version: str
    source: str = Field(description="Where the weights were loaded from.")
    aliases: list[str] = Field(default_factory=list)
    lineage: dict[str, Any] = Field(default_factory=dict)
    max_chars: int | None = Field(
        default=None, description="Characters one question/response may have (from the model)."
    )
    window_tokens: int | None = Field(default=None, description="Response tokens per window.")


class PublicModel(BaseModel):
    """What ``/v1/model`` shows: version, aliases, limits and allow-listed lineage fields."""

    name: str
    version: str
    aliases: list[str] = Field(default_factory=list)
    lineage: dict[str, Any] = Field(
        default_factory=dict, description=f"Only {', '.join(PUBLIC_LINEAGE_FIELDS)}."
    )
    max_chars: int | None = None
    window_tokens: int | None = None

    @classmethod
    def of(cls, description: ModelDescription) -> PublicModel:
        lineage = {
            key: value
            for key, value in description.lineage.items()
            if key in PUBLIC_LINEAGE_FIELDS and not _looks_like_a_location(value)
        }
        if "data_sources" in lineage:
            lineage["data_sources"] = public_sources(lineage["data_sources"])
        return cls(
            name=description.name,
            version=description.version,
            aliases=description.aliases,
            lineage=lineage,
            max_chars=description.max_chars,
            window_tokens=description.window_tokens,
        )


def public_sources(sources: object) -> list[dict[str, str]]:
    """``{URI: sha256}`` as ``[{"name", "sha256"}]``: each source's last path segment and its
    digest, so a client can match data by digest without learning buckets or paths."""
    if not isinstance(sources, dict):
        return []
    return [
        {"name": source_name(str(uri)), "sha256": str(digest)}
        for uri, digest in sorted(sources.items())
    ]


def _looks_like_a_location(value: object) -> bool:
    """A local path or an internal URI (``base_model`` may be either); registry URIs pass."""
    if not isinstance(value, str):
        return False
    if value.startswith("models:/"):
        return False
    return "://" in value or value.startswith(("/", "~", ".", "\\")) or ":\\" in value


class Health(BaseModel):
    """Readiness: the model is loaded and a canary item scores."""

    status: Literal["ready", "unavailable"]
    model: ModelRef | None = None
    reason: str | None = Field(
        default=None, description="A fixed phrase (never exception text) when unavailable."
    )


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer."""

    error: str = Field(description="A stable code, e.g. invalid_json, too_many_items.")
    message: str = Field(description="What was wrong and what to change.")
