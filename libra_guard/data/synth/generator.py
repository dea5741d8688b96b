"""Stage-1 synthetic guard data: ``generate(n, seed)`` returns exactly ``n`` agreed rows.

The loop follows the paper's recipe in spirit: pick a subcategory (round-robin over a shuffled
order, so every subcategory appears once n reaches a few hundred), combine elements into a
question, augment and deduplicate it, let an answering style respond, have two independent
labellers label the response and keep the row only when they agree. Everything draws from one
``random.Random(seed)``, so a (n, seed, hard) triple always yields the same rows.

Prompt-task rows (``prompt_share``): the generator knows whether each question asks for harm
(``QuestionDraft.harmful``), so a share of the kept rows' distinct questions also become
``task: "prompt"`` rows labelled with the QUESTION's harm (a refused harmful request is a
safe response row and an unsafe prompt row). They are drawn after the response rows from a
random generator of their own, so the n response rows are the same bytes whatever the share.

    from libra_guard.data.synth import generate
    result = generate(2000, seed=0)            # stage-1 pretraining data
    hard = generate(2000, seed=0, hard=True)   # harder flavour, the default stage-2 stand-in
    both = generate(2000, seed=0, prompt_share=0.2)  # + 400 prompt-task rows
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from libra_guard.data.schema import LABELS, PROMPT_TASK, SAFE, UNSAFE, GuardRow
from libra_guard.data.synth.answers import choose_style, render_answer
from libra_guard.data.synth.critique import write_critique, write_prompt_critique
from libra_guard.data.synth.labelers import intended_label, judge_label
from libra_guard.data.synth.lexicon import TOPICS, Topic
from libra_guard.data.synth.questions import QuestionDraft, draft_question, supported_kinds
from libra_guard.errors import ConfigError

logger = logging.getLogger(__name__)

#: Candidates tried per requested row before giving up; far above the ~1.2 actually needed.
MAX_ATTEMPTS_PER_ROW = 25
#: How many different answers one (normalised) question may receive, like several answerers.
MAX_ANSWERS_PER_QUESTION = 2
#: Question-kind weights: (default, hard). Hard has fewer plain requests, more alarming words.
_KIND_WEIGHTS: dict[str, tuple[float, float]] = {
    "act": (0.50, 0.46),
    "claim": (0.12, 0.12),
    "protect": (0.10, 0.08),
    "knowledge": (0.12, 0.08),
    "law": (0.06, 0.06),
    "alarming": (0.10, 0.20),
}
#: Most prompt-task rows per response row: each kept question has at most two answers.
MAX_PROMPT_SHARE = 0.5
#: Share of harmful requests wrapped in a red-team frame: (default, hard).
_WRAP_RATE = (0.22, 0.45)
_PROGRESS_EVERY = 5000
_NON_WORD = re.compile(r"[\W_]+")


class SynthesisError(ConfigError, ValueError):
    """The requested synthetic data set cannot be produced (bad size, vocabulary exhausted)."""


@dataclass
class SynthResult:
    """The kept rows plus what the filter and the template pools did."""

    rows: list[GuardRow]
    disagreements_dropped: int
    question_skeletons: int
    answer_skeletons: int
    duplicates_dropped: int = 0
    hard: bool = False
    #: The answer style behind each response row (the first ``n`` rows), for audits and tests.
    plan_styles: list[str] = field(default_factory=list)
    #: How many of ``rows`` (after the response rows) are prompt-task rows.
    prompt_rows: int = 0

    def summary(self) -> dict:
        """Counts a reviewer wants before training on the rows."""
        by_label = Counter(row.label for row in self.rows)
        by_task = Counter(row.task for row in self.rows)
        by_scenario = Counter(row.category_name for row in self.rows)
        subcategories = {(row.category_name, row.sub_category_name) for row in self.rows}
        return {
            "n": len(self.rows),
            "hard": self.hard,
            "by_label": {label: by_label.get(label, 0) for label in LABELS},
            "by_task": dict(sorted(by_task.items())),
            "by_scenario": dict(sorted(by_scenario.items())),
            "subcategories_covered": len(subcategories),
            "disagreements_dropped": self.disagreements_dropped,
            "duplicates_dropped": self.duplicates_dropped,
            "question_skeletons": self.question_skeletons,
            "answer_skeletons": self.answer_skeletons,
        }


def _normalise(text: str) -> str:
    return _NON_WORD.sub("", text).lower()


def _topic_stream(rng: random.Random):
    """Topics in round-robin over a freshly shuffled order each cycle."""
    while True:
        order = list(TOPICS)
        rng.shuffle(order)
        yield from order


def _pick_kind(rng: random.Random, topic: Topic, hard: bool) -> str:
    kinds = supported_kinds(topic)
    weights = [_KIND_WEIGHTS[kind][1 if hard else 0] for kind in kinds]
    return rng.choices(kinds, weights=weights)[0]


def generate(n: int, seed: int, *, hard: bool = False, prompt_share: float = 0.0) -> SynthResult:
    """Generate exactly ``n`` synthetic response rows on which both labellers agree, then
    ``round(prompt_share * n)`` prompt-task rows from their distinct questions.

    Args:
        n: response rows to return (at least 1).
        seed: the seed of the random generators; same (n, seed, hard, prompt_share), same rows.
        hard: the harder, held-out flavour (more disguised compliance, refusals that quote
            harmful details, alarming benign questions, red-team wrappers, longer answers);
            source ``"synthetic-hard"`` instead of ``"synthetic"``.
        prompt_share: prompt-task rows per response row, in [0, 0.5] (each question yields at
            most one, and at least n/2 distinct questions are kept, so the count is exact).

    Raises:
        SynthesisError: (a ``ValueError``) when ``n`` is not positive, ``prompt_share`` is out
            of range, or the vocabulary cannot yield ``n`` distinct agreed rows within the
            attempt budget.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SynthesisError(f"synthetic row count must be a positive integer, got {n!r}")
    if not 0.0 <= prompt_share <= MAX_PROMPT_SHARE:
        raise SynthesisError(
            f"prompt_share must lie in [0, {MAX_PROMPT_SHARE}], got {prompt_share!r}"
        )
    rng = random.Random(seed)
    source = "synthetic-hard" if hard else "synthetic"
    id_prefix = f"synth-hard-{seed}" if hard else f"synth-{seed}"
    wrap_rate = _WRAP_RATE[1 if hard else 0]
    topics = _topic_stream(rng)
    answers_per_question: Counter[str] = Counter()
    seen_pairs: set[tuple[str, str]] = set()
    rows: list[GuardRow] = []
    styles: list[str] = []
    question_skeletons: set[str] = set()
    #: The draft of each kept row's question, first occurrence only: prompt-task candidates.
    questions: dict[str, QuestionDraft] = {}
    answer_skeletons: set[str] = set()
    disagreements = duplicates = attempts = 0
    started = time.perf_counter()
    max_attempts = n * MAX_ATTEMPTS_PER_ROW
    while len(rows) < n:
        if attempts >= max_attempts:
            raise SynthesisError(
                f"could make only {len(rows)} distinct agreed synthetic rows of the {n} asked "
                f"after {attempts} attempts; ask for fewer rows or extend the lexicon"
            )
        attempts += 1
        topic = next(topics)
        question = draft_question(
            rng, topic, _pick_kind(rng, topic, hard), hard=hard, wrap_rate=wrap_rate
        )
        question_key = _normalise(question.text)
        if answers_per_question[question_key] >= MAX_ANSWERS_PER_QUESTION:
            duplicates += 1
            continue
        style = choose_style(rng, question, hard=hard)
        answer = render_answer(rng, question, style, hard=hard)
        pair_key = (question_key, _normalise(answer.text))
        if pair_key in seen_pairs:
            duplicates += 1
            continue
        label = intended_label(style)
        if judge_label(question.text, answer.text) != label:
            disagreements += 1
            continue
        seen_pairs.add(pair_key)
        answers_per_question[question_key] += 1
        questions.setdefault(question_key, question)
        question_skeletons.update(question.skeletons)
        answer_skeletons.add(answer.skeleton)
        styles.append(style.name)
        rows.append(
            GuardRow(
                id=f"{id_prefix}-{len(rows)}",
                source=source,
                category_name=topic.scenario,
                sub_category_name=topic.sub,
                question=question.text,
                response=answer.text,
                label=label,
                analyze=write_critique(rng, question, style),
            )
        )
        if len(rows) % _PROGRESS_EVERY == 0:
            elapsed = time.perf_counter() - started
            logger.info("synthesised %d/%d rows (%.0f rows/s)", len(rows), n, len(rows) / elapsed)
    prompt_rows = _prompt_rows(list(questions.values()), round(prompt_share * n), seed, hard)
    rows.extend(prompt_rows)
    return SynthResult(
        rows=rows,
        disagreements_dropped=disagreements,
        question_skeletons=len(question_skeletons),
        answer_skeletons=len(answer_skeletons),
        duplicates_dropped=duplicates,
        hard=hard,
        plan_styles=styles,
        prompt_rows=len(prompt_rows),
    )


def _prompt_rows(drafts: list[QuestionDraft], count: int, seed: int, hard: bool) -> list[GuardRow]:
    """``count`` prompt-task rows from distinct question drafts, in generation order.

    A random generator of their own (seeded from ``seed``) picks them, so the response rows
    never depend on whether or how many prompt rows are asked for.
    """
    rng = random.Random(f"{seed}:{'hard:' if hard else ''}prompt-task")
    picked = sorted(rng.sample(range(len(drafts)), min(count, len(drafts))))
    source = "synthetic-hard" if hard else "synthetic"
    id_prefix = f"synth-hard-{seed}" if hard else f"synth-{seed}"
    return [
        GuardRow(
            id=f"{id_prefix}-prompt-{number}",
            source=source,
            category_name=drafts[index].topic.scenario,
            sub_category_name=drafts[index].topic.sub,
            question=drafts[index].text,
            label=UNSAFE if drafts[index].harmful else SAFE,
            analyze=write_prompt_critique(rng, drafts[index]),
            task=PROMPT_TASK,
        )
        for number, index in enumerate(picked)
    ]
