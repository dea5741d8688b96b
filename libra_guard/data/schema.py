"""The typed row model of the Libra-Test schema.

A row is one conversation turn (a human question and a model's response) with the label of
the RESPONSE: ``安全`` (safe) or ``不安全`` (unsafe). ``analyze`` is the annotator's critique,
present in Libra-Test and in our synthetic data, absent in some external sets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SAFE = "安全"
UNSAFE = "不安全"
LABELS = (SAFE, UNSAFE)
Label = Literal["安全", "不安全"]

#: Libra-Test's three sources, in the order the paper reports them.
LIBRA_TEST_SOURCES = ("Real Data", "Synthetic Data", "Translated Data")

#: Default longest question or response accepted by validation, in characters.
DEFAULT_MAX_TEXT_CHARS = 8000

REQUIRED_FIELDS = (
    "id",
    "source",
    "category_name",
    "sub_category_name",
    "question",
    "response",
    "label",
)


class GuardRow(BaseModel):
    """One Libra-Test row. Unknown extra keys are kept so that nothing is lost on rewrite."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=False)

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    category_name: str
    sub_category_name: str
    question: str
    response: str
    label: Label
    analyze: str | None = None

    @field_validator("question", "response")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty text")
        return value

    @property
    def is_unsafe(self) -> bool:
        return self.label == UNSAFE

    def to_json_dict(self) -> dict:
        """The row as a plain dict in schema order, without an absent ``analyze``; extra
        fields are kept as they came, nulls included."""
        data = self.model_dump()
        if data.get("analyze") is None:
            data.pop("analyze", None)
        return data
