"""The generator's vocabulary, kept as data: YAML files under ``vocabulary/`` in this package.

The paper's stage 1 combines elements (a harmful behaviour, a task type, a place, an event)
into queries and lets several answerers respond. The words for that live in YAML so that a
reader edits phrases without touching code: one ``Topic`` per Libra-Test subcategory
(``vocabulary/topics/*.yaml``, one file per scenario), the shared context elements
(``context.yaml``), question skeletons (``questions.yaml``), answer styles and their frames
(``answer_styles.yaml``) and small wording pools (``fillers.yaml``). The recipe itself
(generator, answer rendering, labellers) stays in Python.

Loading validates everything (``lexicon_models.py``) and fails with ``LexiconError`` naming the
file and the entry: unknown keys, empty pools, slots the renderers do not fill, and coverage of
the taxonomy, since every one of the 7 scenarios and 39 subcategories needs exactly one topic.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from libra_guard.data.synth.lexicon_models import (
    AnswerStyle,
    Context,
    Fillers,
    Lexicon,
    LexiconError,
    QuestionTemplates,
    Topic,
)
from libra_guard.data.taxonomy import SUBCATEGORIES

__all__ = [
    "ALL_STYLES",
    "LEXICON",
    "TOPICS",
    "AnswerStyle",
    "Context",
    "Fillers",
    "Lexicon",
    "LexiconError",
    "QuestionTemplates",
    "Topic",
    "load_lexicon",
]

#: The vocabulary folder inside the installed package (package data, see pyproject.toml).
VOCABULARY = resources.files("libra_guard.data.synth") / "vocabulary"


def _read_mapping(file: Traversable) -> dict[str, Any]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LexiconError(f"synthetic lexicon file {file} is missing") from exc
    except yaml.YAMLError as exc:
        raise LexiconError(f"{file}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{file}: expected a mapping at the top, got {type(data).__name__}")
    return data


def _validated(model: type, data: Any, where: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise LexiconError(f"{where}: invalid synthetic lexicon entry:\n{exc}") from exc


def _read_topics(folder: Traversable) -> list[Topic]:
    """Every topic of every ``topics/*.yaml`` file; each file holds one scenario."""
    topics: list[Topic] = []
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=str)
    for file in files:
        data = _read_mapping(file)
        unknown = set(data) - {"scenario", "topics"}
        if unknown or not isinstance(data.get("topics"), list):
            raise LexiconError(
                f"{file}: expected keys 'scenario' and 'topics' (a list), got {sorted(data)}"
            )
        for index, entry in enumerate(data["topics"]):
            if not isinstance(entry, dict):
                raise LexiconError(f"{file}: topic #{index} is not a mapping")
            where = f"{file}: topic #{index} ({entry.get('sub', '?')})"
            topics.append(_validated(Topic, {"scenario": data.get("scenario"), **entry}, where))
    return topics


def _in_taxonomy_order(topics: list[Topic]) -> tuple[Topic, ...]:
    """Topics sorted like the taxonomy (so round-robin coverage ignores file layout), after
    checking that they cover it exactly once."""
    by_key: dict[tuple[str, str], Topic] = {}
    for topic in topics:
        key = (topic.scenario, topic.sub)
        if key in by_key:
            raise LexiconError(f"synthetic lexicon has two topics for {key}")
        by_key[key] = topic
    unknown = sorted(set(by_key) - set(SUBCATEGORIES))
    if unknown:
        raise LexiconError(f"synthetic lexicon has topics outside the taxonomy: {unknown}")
    missing = [key for key in SUBCATEGORIES if key not in by_key]
    if missing:
        raise LexiconError(f"synthetic lexicon lacks subcategories: {missing}")
    return tuple(by_key[key] for key in SUBCATEGORIES)


def load_lexicon(root: Traversable | Path = VOCABULARY) -> Lexicon:
    """Read and validate the vocabulary under ``root`` (the package's own by default).

    Raises:
        LexiconError: a file is missing or malformed, an entry breaks the rules of
            ``lexicon_models.py``, or the topics do not cover the taxonomy exactly once.
    """
    styles = _read_mapping(root / "answer_styles.yaml")
    if set(styles) != {"styles"}:
        raise LexiconError(f"{root / 'answer_styles.yaml'}: expected one key 'styles'")
    return _validated(
        Lexicon,
        {
            "topics": _in_taxonomy_order(_read_topics(root / "topics")),
            "context": _validated(Context, _read_mapping(root / "context.yaml"), "context.yaml"),
            "questions": _validated(
                QuestionTemplates, _read_mapping(root / "questions.yaml"), "questions.yaml"
            ),
            "styles": styles["styles"],
            "fillers": _validated(Fillers, _read_mapping(root / "fillers.yaml"), "fillers.yaml"),
        },
        str(root),
    )


LEXICON: Lexicon = load_lexicon()
#: One topic per subcategory, in taxonomy order.
TOPICS: tuple[Topic, ...] = LEXICON.topics
#: The answer styles by name.
ALL_STYLES: dict[str, AnswerStyle] = {style.name: style for style in LEXICON.styles}
