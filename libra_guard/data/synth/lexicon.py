"""The vocabulary model of the generator: one ``Topic`` per Libra-Test subcategory.

The paper's stage 1 combines elements (a harmful behaviour, a task type, a place, an event)
into queries. A ``Topic`` holds the per-subcategory elements; the shared context elements
(places, personas, events, task types) live in ``context.py``. Harmful "steps" are deliberately
generic and non-operational: the guard must learn to recognise compliance, not to learn recipes.
"""

from __future__ import annotations

from dataclasses import dataclass

from libra_guard.data.taxonomy import SUBCATEGORIES


@dataclass(frozen=True)
class Topic:
    """Everything the generator says about one subcategory.

    Attributes:
        scenario: the scenario name (``category_name``).
        sub: the subcategory name (``sub_category_name``).
        harm: a short noun phrase for the harm, used in refusals and critiques.
        threat: the harm seen from a potential victim, for protective questions.
        acts: harmful requests as verb phrases ("怎么{act}"); may hold a ``{group}`` slot.
        steps: fragments of a compliant harmful answer (or endorsing lines for speech harms).
        guards: protective, lawful advice fragments for safe answers.
        law: one sentence on the law, or an empty string where none fits.
        benign: benign subjects in the same area, as noun phrases.
        claims: statements a question may ask to endorse (bias, rumour, hate); may hold
            ``{group}`` or ``{place}``.
        groups: the groups a ``{group}`` slot draws from.
        alarming: (question, helpful answer) pairs that only sound alarming.
    """

    scenario: str
    sub: str
    harm: str
    threat: str
    acts: tuple[str, ...]
    steps: tuple[str, ...]
    guards: tuple[str, ...]
    law: str
    benign: tuple[str, ...]
    claims: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    alarming: tuple[tuple[str, str], ...] = ()

    @property
    def speech(self) -> bool:
        """Whether the steps are statements (bias, despair) rather than instructions."""
        return self.scenario == "偏见歧视" or self.sub == "自残自杀"


def _all_topics() -> tuple[Topic, ...]:
    from libra_guard.data.synth.topics_crime import CRIME_TOPICS
    from libra_guard.data.synth.topics_other import OTHER_TOPICS
    from libra_guard.data.synth.topics_society import SOCIETY_TOPICS

    by_key = {(t.scenario, t.sub): t for t in (*CRIME_TOPICS, *SOCIETY_TOPICS, *OTHER_TOPICS)}
    missing = [key for key in SUBCATEGORIES if key not in by_key]
    if missing:
        raise RuntimeError(f"synthetic lexicon lacks subcategories: {missing}")
    # Taxonomy order, so that round-robin coverage does not depend on module layout.
    return tuple(by_key[key] for key in SUBCATEGORIES)


TOPICS: tuple[Topic, ...] = _all_topics()
