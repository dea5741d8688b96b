"""The typed row model of the Libra-Test schema.

A row is one conversation turn (a human question and a model's response) with the label of
the RESPONSE: ``安全`` (safe) or ``不安全`` (unsafe). ``analyze`` is the annotator's critique,
present in Libra-Test and in our synthetic data, absent in some external sets.

``task`` says what the label judges. ``response`` (the default, Libra's task; files without
the field are response rows) labels the answer given the question. ``prompt`` (ours) labels
the QUESTION alone, whether it asks for harmful content; such a row has no response, and
``to_json_dict`` writes no ``task`` for a response row, so response rows keep their bytes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SAFE = "安全"
UNSAFE = "不安全"
LABELS = (SAFE, UNSAFE)
Label = Literal["安全", "不安全"]

RESPONSE_TASK = "response"
PROMPT_TASK = "prompt"
#: The tasks a row can label, Libra's response task first.
TASKS = (RESPONSE_TASK, PROMPT_TASK)
Task = Literal["response", "prompt"]

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
#: What a prompt-task row needs: everything but the response.
PROMPT_REQUIRED_FIELDS = tuple(field for field in REQUIRED_FIELDS if field != "response")


class GuardRow(BaseModel):
    """One Libra-Test row. Unknown extra keys are kept so that nothing is lost on rewrite."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=False)

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    category_name: str
    sub_category_name: str
    question: str
    response: str = ""
    label: Label
    analyze: str | None = None
    task: Task = RESPONSE_TASK

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty text")
        return value

    @model_validator(mode="after")
    def _response_fits_task(self) -> GuardRow:
        if self.task == RESPONSE_TASK and not self.response.strip():
            raise ValueError("a response-task row needs a non-empty response")
        if self.task == PROMPT_TASK and self.response:
            raise ValueError("a prompt-task row judges the question alone; it has no response")
        return self

    @property
    def is_unsafe(self) -> bool:
        return self.label == UNSAFE

    @property
    def pair(self) -> tuple[str, str | None]:
        """What the guard judges: (question, response), or (question, None) for the prompt
        task (``None`` selects the prompt-task template, ``modeling.prompt``)."""
        return self.question, (None if self.task == PROMPT_TASK else self.response)

    def to_json_dict(self) -> dict:
        """The row as a plain dict in schema order, without an absent ``analyze``; extra
        fields are kept as they came, nulls included. A response row has no ``task`` key (so
        its bytes are those of a row written before tasks existed); a prompt row has
        ``task: "prompt"`` and no ``response``."""
        data = self.model_dump()
        if data.get("analyze") is None:
            data.pop("analyze", None)
        if self.task == RESPONSE_TASK:
            data.pop("task")
        else:
            data.pop("response")
        return data
