"""The validated shape of the synthetic lexicon (the YAML under ``vocabulary/``).

Each model forbids unknown keys and empty pools, and every template may use only the slots its
renderer fills (``questions.py``, ``answers.py``), so a typo in the data fails on load rather
than as a ``KeyError`` in the middle of a generation run.
"""

from __future__ import annotations

import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

from libra_guard.data.schema import LABELS
from libra_guard.errors import ConfigError

#: Question kinds; ``act`` and ``claim`` ask for harm, the rest are benign.
QuestionKind = Literal["act", "claim", "protect", "knowledge", "law", "alarming"]
#: Slots ``questions.py`` fills in question skeletons; wrappers may also hold ``{inner}``.
QUESTION_SLOTS = frozenset(
    {"act", "claim", "threat", "benign", "harm", "alarm", "place"}
    | {"persona", "event", "task", "role"}
)
#: Slots ``answers.py`` fills in answer frames.
ANSWER_SLOTS = frozenset(
    {"open_c", "close_c", "open_r", "close_s", "open_b", "disclaim", "elab", "elab2"}
    | {"elab_s", "elab_s2", "act", "claim", "harm", "threat", "topic_phrase", "place", "name"}
    | {"alarm_a", "law", "s1", "s2", "s3", "s_extra", "g1", "g2", "g3", "r1", "r2"}
    | {"steps_list", "steps_prose", "steps_code", "steps_py", "steps_json"}
    | {"guards_list", "guards_prose"}
)
#: Slots of a list marker: the item number, its Chinese numeral, its circled digit.
MARKER_SLOTS = frozenset({"i", "c", "o"})
#: Slots a topic's acts and claims may hold (filled by plain replacement).
TOPIC_SLOTS = frozenset({"group", "place"})

Phrases = tuple[StrictStr, ...]
Pool = Annotated[Phrases, Field(min_length=1)]


class LexiconError(ConfigError, ValueError):
    """The synthetic lexicon's data files are missing, malformed or incomplete."""


def slots_of(template: str) -> set[str]:
    """The ``{name}`` slots of a ``str.format`` template (``{{`` escapes excluded)."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError as exc:
        raise ValueError(f"malformed template {template!r}: {exc}") from exc


def _check_slots(templates: tuple[str, ...], allowed: frozenset[str], what: str) -> None:
    for template in templates:
        unknown = slots_of(template) - allowed
        if unknown:
            raise ValueError(f"{what} {template!r} uses unknown slots {sorted(unknown)}")


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Topic(_Data):
    """Everything the generator says about one subcategory.

    Attributes:
        scenario: the scenario name (``category_name``).
        sub: the subcategory name (``sub_category_name``).
        harm: a short noun phrase for the harm, used in refusals and critiques.
        threat: the harm seen from a potential victim, for protective questions.
        acts: harmful requests as verb phrases ("怎么{act}"); may hold a ``{group}`` slot.
        steps: fragments of a compliant harmful answer (or endorsing lines for speech harms);
            at least three, since frames quote ``{s1}``..``{s3}``.
        guards: protective, lawful advice fragments for safe answers; at least three.
        law: one sentence on the law, or an empty string where none fits.
        benign: benign subjects in the same area, as noun phrases.
        claims: statements a question may ask to endorse (bias, rumour, hate); may hold
            ``{group}`` or ``{place}``.
        groups: the groups a ``{group}`` slot draws from.
        alarming: (question, helpful answer) pairs that only sound alarming; written in YAML
            as ``{question: ..., answer: ...}``.
    """

    scenario: StrictStr
    sub: StrictStr
    harm: StrictStr
    threat: StrictStr
    acts: Pool
    steps: Annotated[Phrases, Field(min_length=3)]
    guards: Annotated[Phrases, Field(min_length=3)]
    law: StrictStr
    benign: Pool
    claims: Phrases = ()
    groups: Phrases = ()
    alarming: tuple[tuple[StrictStr, StrictStr], ...] = ()

    @field_validator("alarming", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        pairs = []
        for item in value:
            if not isinstance(item, dict) or set(item) != {"question", "answer"}:
                raise ValueError(f"each alarming entry needs exactly question and answer: {item}")
            pairs.append((item["question"], item["answer"]))
        return tuple(pairs)

    @model_validator(mode="after")
    def _slots(self) -> Topic:
        _check_slots(self.acts + self.claims, TOPIC_SLOTS, "act or claim")
        uses_group = any("{group}" in text for text in self.acts + self.claims)
        if uses_group and not self.groups:
            raise ValueError("acts or claims use {group} but the topic lists no groups")
        return self

    @property
    def speech(self) -> bool:
        """Whether the steps are statements (bias, despair) rather than instructions."""
        return self.scenario == "偏见歧视" or self.sub == "自残自杀"


class Context(_Data):
    """Shared elements combined with a harmful behaviour (paper: task type, place, event)."""

    places: Pool
    personas: Pool
    events: Pool
    tasks: Pool
    #: Roles a role-play wrapper asks the model to take.
    roles: Pool
    #: Character names for fiction-framed answers.
    names: Pool


class Wrapper(_Data):
    """A red-team frame around a harmful question; the family picks matching answer styles."""

    family: Literal["roleplay", "fiction", "hypothetical", "pretext"]
    template: StrictStr

    @model_validator(mode="after")
    def _slots(self) -> Wrapper:
        _check_slots((self.template,), QUESTION_SLOTS | {"inner"}, "wrapper")
        if not slots_of(self.template) & {"inner", "act"}:
            raise ValueError(f"wrapper {self.template!r} holds neither {{inner}} nor {{act}}")
        return self


class QuestionTemplates(_Data):
    """Question skeletons per kind; ``*_hard`` pools are used only by the hard flavour."""

    act: Pool
    act_hard: Phrases = ()
    claim: Pool
    claim_hard: Phrases = ()
    protect: Pool
    knowledge: Pool
    law: Pool
    alarming: Pool
    wrappers: Annotated[tuple[Wrapper, ...], Field(min_length=1)]
    wrappers_hard: tuple[Wrapper, ...] = ()
    #: Paraphrase noise: openers and endings people add to a question.
    prefixes: Pool
    suffixes: Pool
    #: Paraphrase rewrites applied to the first occurrence of a phrase.
    synonyms: dict[StrictStr, Pool]

    def pools(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """(common, hard-only) skeletons per question kind."""
        return {
            "act": (self.act, self.act_hard),
            "claim": (self.claim, self.claim_hard),
            "protect": (self.protect, ()),
            "knowledge": (self.knowledge, ()),
            "law": (self.law, ()),
            "alarming": (self.alarming, ()),
        }

    @model_validator(mode="after")
    def _slots(self) -> QuestionTemplates:
        for kind, (common, hard) in self.pools().items():
            _check_slots(common + hard, QUESTION_SLOTS, f"{kind} skeleton")
        return self


class AnswerStyle(_Data):
    """One answerer style: its intended label, the question kinds it answers, its frames."""

    name: StrictStr
    label: StrictStr
    kinds: Annotated[tuple[QuestionKind, ...], Field(min_length=1)]
    frames: Pool
    hard_frames: Phrases = ()

    def pool(self, hard: bool) -> tuple[str, ...]:
        return self.frames + self.hard_frames if hard else self.frames

    @model_validator(mode="after")
    def _check(self) -> AnswerStyle:
        if self.label not in LABELS:
            raise ValueError(f"style {self.name}: label must be one of {LABELS}")
        _check_slots(self.frames + self.hard_frames, ANSWER_SLOTS, f"style {self.name} frame")
        return self


class Fillers(_Data):
    """Small wording pools that vary answers within one skeleton (see ``fillers.yaml``)."""

    open_comply: Pool
    close_comply: Pool
    open_refuse: Pool
    close_safe: Pool
    open_benign: Pool
    disclaim: Pool
    elab_unsafe: Pool
    elab_safe: Pool
    post_unsafe: Pool
    post_speech: Pool
    post_rumour: Pool
    post_fiction: Pool
    post_safe_general: Pool
    post_safe_legal: Pool
    rumour_details: Pool
    law_fallback: Pool
    list_markers: Pool
    first_connectors: Pool
    middle_connectors: Pool
    last_connectors: Pool
    advice_markers: Pool
    first_advice_connectors: Pool
    middle_advice_connectors: Pool
    last_advice_connectors: Pool

    @model_validator(mode="after")
    def _markers(self) -> Fillers:
        _check_slots(self.list_markers + self.advice_markers, MARKER_SLOTS, "list marker")
        return self


class Lexicon(_Data):
    """The whole vocabulary; ``load_lexicon`` (``lexicon.py``) builds it from the YAML."""

    topics: tuple[Topic, ...]
    context: Context
    questions: QuestionTemplates
    styles: Annotated[tuple[AnswerStyle, ...], Field(min_length=1)]
    fillers: Fillers

    @model_validator(mode="after")
    def _unique_styles(self) -> Lexicon:
        names = [style.name for style in self.styles]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"answer styles defined twice: {duplicates}")
        return self
