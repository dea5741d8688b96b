"""The synthetic lexicon is YAML package data, validated on load: each broken copy is refused
with a message naming what to fix, and the shipped copy covers the whole taxonomy."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from libra_guard.data.synth.lexicon import VOCABULARY, LexiconError, load_lexicon
from libra_guard.data.taxonomy import SUBCATEGORIES
from libra_guard.errors import ConfigError


@pytest.fixture
def vocabulary(tmp_path: Path) -> Path:
    """A private, editable copy of the shipped vocabulary folder."""
    copy = tmp_path / "vocabulary"
    shutil.copytree(Path(str(VOCABULARY)), copy)
    return copy


def _edit(path: Path, change: Callable[[dict], None]) -> None:
    data = yaml.safe_load(path.read_text("utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


def test_shipped_lexicon_covers_the_taxonomy_in_order(vocabulary: Path) -> None:
    lexicon = load_lexicon(vocabulary)
    assert [(t.scenario, t.sub) for t in lexicon.topics] == list(SUBCATEGORIES)
    assert len(lexicon.topics) == 39
    assert len({t.scenario for t in lexicon.topics}) == 7


def test_a_missing_subcategory_is_refused(vocabulary: Path) -> None:
    _edit(vocabulary / "topics" / "health.yaml", lambda d: d["topics"].pop())
    with pytest.raises(
        LexiconError, match=r"lacks subcategories: \[\('身心健康', '危害身体健康'\)\]"
    ):
        load_lexicon(vocabulary)


def test_a_topic_outside_the_taxonomy_is_refused(vocabulary: Path) -> None:
    _edit(vocabulary / "topics" / "health.yaml", lambda d: d["topics"][0].update(sub="失眠"))
    with pytest.raises(LexiconError, match=r"outside the taxonomy.*失眠"):
        load_lexicon(vocabulary)


def test_a_subcategory_given_twice_is_refused(vocabulary: Path) -> None:
    _edit(vocabulary / "topics" / "health.yaml", lambda d: d["topics"].append(d["topics"][0]))
    with pytest.raises(LexiconError, match="two topics for"):
        load_lexicon(vocabulary)


def test_an_unknown_key_names_the_file_and_topic(vocabulary: Path) -> None:
    _edit(vocabulary / "topics" / "ethics.yaml", lambda d: d["topics"][1].update(stepz=["x"]))
    with pytest.raises(LexiconError, match=r"ethics\.yaml: topic #1 \(违背公序良俗\)") as caught:
        load_lexicon(vocabulary)
    assert "stepz" in str(caught.value)
    assert isinstance(caught.value, ConfigError)


def test_too_few_steps_are_refused(vocabulary: Path) -> None:
    # Answer frames quote {s1}..{s3}: a topic needs three steps to fill them.
    _edit(vocabulary / "topics" / "crime.yaml", lambda d: d["topics"][0].update(steps=["a", "b"]))
    with pytest.raises(LexiconError, match="steps"):
        load_lexicon(vocabulary)


def test_a_frame_slot_the_renderer_does_not_fill_is_refused(vocabulary: Path) -> None:
    _edit(vocabulary / "answer_styles.yaml", lambda d: d["styles"][0]["frames"].append("{stepz}"))
    with pytest.raises(LexiconError, match=r"comply_list frame '\{stepz\}' uses unknown slots"):
        load_lexicon(vocabulary)


def test_a_question_skeleton_slot_typo_is_refused(vocabulary: Path) -> None:
    _edit(vocabulary / "questions.yaml", lambda d: d["act"].append("怎么{acts}？"))
    with pytest.raises(LexiconError, match=r"(?s)questions\.yaml.*unknown slots \['acts'\]"):
        load_lexicon(vocabulary)


def test_a_group_slot_without_groups_is_refused(vocabulary: Path) -> None:
    _edit(vocabulary / "topics" / "bias.yaml", lambda d: d["topics"][0].pop("groups"))
    with pytest.raises(LexiconError, match="no groups"):
        load_lexicon(vocabulary)


def test_a_non_string_phrase_is_refused(vocabulary: Path) -> None:
    # YAML reads an unquoted 110 as a number; the lexicon holds phrases only.
    _edit(vocabulary / "context.yaml", lambda d: d["places"].append(110))
    with pytest.raises(LexiconError, match=r"context\.yaml"):
        load_lexicon(vocabulary)


def test_a_missing_file_is_named(vocabulary: Path) -> None:
    (vocabulary / "fillers.yaml").unlink()
    with pytest.raises(LexiconError, match=r"fillers\.yaml is missing"):
        load_lexicon(vocabulary)


def test_broken_yaml_is_named(vocabulary: Path) -> None:
    (vocabulary / "context.yaml").write_text("places: [北京\n", "utf-8")
    with pytest.raises(LexiconError, match=r"context\.yaml: not valid YAML"):
        load_lexicon(vocabulary)
