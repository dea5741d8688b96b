"""Build one synthetic question: combine elements, fill a skeleton, augment it.

This is the query half of the stage-1 recipe: a harmful behaviour combined with a task type,
a place, a persona or an event fills a skeleton; augmentation then rewrites it (synonyms,
openers, endings) and may wrap it in a red-team frame (role play, hypotheticals, fiction,
research pretexts). Benign questions come from the same topic so that topic words alone never
decide the label.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from libra_guard.data.synth.lexicon import LEXICON, Topic

#: Question kinds; the first two ask for harm, the rest are benign.
HARMFUL_KINDS = ("act", "claim")
BENIGN_KINDS = ("protect", "knowledge", "law", "alarming")

_TEMPLATES = LEXICON.questions
_CONTEXT = LEXICON.context
#: (common, hard-only) question skeletons per kind.
_POOLS = _TEMPLATES.pools()


@dataclass(frozen=True)
class QuestionDraft:
    """A filled question and what the answer side needs to know about it."""

    text: str
    kind: str
    topic: Topic
    skeletons: tuple[str, ...]
    act: str
    claim: str
    place: str
    wrapper_family: str | None
    alarm_answer: str
    subject: str

    @property
    def harmful(self) -> bool:
        return self.kind in HARMFUL_KINDS


def supported_kinds(topic: Topic) -> tuple[str, ...]:
    """The question kinds a topic has vocabulary for."""
    kinds = ["act", "protect", "knowledge"]
    if topic.law:
        kinds.append("law")
    if topic.claims:
        kinds.append("claim")
    if topic.alarming:
        kinds.append("alarming")
    return tuple(kinds)


def _pick_template(rng: random.Random, kind: str, hard: bool) -> tuple[str, str]:
    common, extra = _POOLS[kind]
    pool = common + extra if hard else common
    index = rng.randrange(len(pool))
    return f"q-{kind}-{index}", pool[index]


def _fill_topic_text(rng: random.Random, text: str, topic: Topic, place: str) -> str:
    group = rng.choice(topic.groups) if topic.groups else ""
    return text.replace("{group}", group).replace("{place}", place)


def _paraphrase(rng: random.Random, text: str, strength: float) -> str:
    for phrase, options in _TEMPLATES.synonyms.items():
        if phrase in text and rng.random() < strength:
            text = text.replace(phrase, rng.choice(options), 1)
    return rng.choice(_TEMPLATES.prefixes) + text + rng.choice(_TEMPLATES.suffixes)


def draft_question(
    rng: random.Random, topic: Topic, kind: str, *, hard: bool, wrap_rate: float
) -> QuestionDraft:
    """Fill one skeleton of ``kind`` for ``topic``; harmful acts may be wrapped (red-teamed)."""
    place = rng.choice(_CONTEXT.places)
    act = _fill_topic_text(rng, rng.choice(topic.acts), topic, place)
    claim = _fill_topic_text(rng, rng.choice(topic.claims), topic, place) if topic.claims else ""
    alarm_question, alarm_answer = rng.choice(topic.alarming) if topic.alarming else ("", "")
    slots = {
        "act": act,
        "claim": claim,
        "threat": topic.threat,
        "benign": rng.choice(topic.benign),
        "harm": topic.harm,
        "alarm": alarm_question,
        "place": place,
        "persona": rng.choice(_CONTEXT.personas),
        "event": rng.choice(_CONTEXT.events),
        "task": rng.choice(_CONTEXT.tasks),
        "role": rng.choice(_CONTEXT.roles),
    }
    skeleton_id, template = _pick_template(rng, kind, hard)
    skeletons = [skeleton_id]
    text = template.format_map(slots)
    if kind != "alarming":
        text = _paraphrase(rng, text, strength=0.35)
    wrapper_family = None
    if kind == "act" and rng.random() < wrap_rate:
        wrappers = _TEMPLATES.wrappers + _TEMPLATES.wrappers_hard if hard else _TEMPLATES.wrappers
        index = rng.randrange(len(wrappers))
        wrapper_family, wrapper = wrappers[index].family, wrappers[index].template
        if "{inner}" in wrapper:
            skeletons.append(f"w-{index}")
        else:
            # The wrapper restates the act itself; the inner skeleton is not used.
            skeletons = [f"w-{index}"]
        text = wrapper.format_map({**slots, "inner": text})
    return QuestionDraft(
        text=text,
        kind=kind,
        topic=topic,
        skeletons=tuple(skeletons),
        act=act,
        claim=claim,
        place=place,
        wrapper_family=wrapper_family,
        alarm_answer=alarm_answer,
        subject={"knowledge": slots["benign"], "protect": topic.threat}.get(kind, topic.harm),
    )
