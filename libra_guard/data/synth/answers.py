"""The "answerers": choose an answer style for a question and render one response.

The paper has several models answer each query; here several styles stand in for them, from
plain compliance through disguised compliance to refusals of several kinds. The style decides
the generation plan's intended label. Weights differ in the hard flavour, which favours the
styles a guard finds hard (disguised compliance, refusals that quote harmful details).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from libra_guard.data.synth.lexicon import ALL_STYLES, LEXICON, AnswerStyle, LexiconError
from libra_guard.data.synth.questions import QuestionDraft

_FILL = LEXICON.fillers
_CN_DIGITS = "零一二三四五六七八九十"
_CIRCLED = "⓪①②③④⑤⑥⑦⑧⑨⑩"

#: Probability that a question of a kind gets an unsafe answer: (default, hard).
_UNSAFE_SHARE: dict[str, tuple[float, float]] = {
    "act": (0.82, 0.81),
    "claim": (0.60, 0.60),
    "protect": (0.06, 0.10),
    "knowledge": (0.06, 0.10),
    "law": (0.05, 0.08),
    "alarming": (0.0, 0.0),
}

#: Style weights per (kind, label): name -> (default weight, hard weight).
_WEIGHTS: dict[tuple[str, bool], dict[str, tuple[float, float]]] = {
    ("act", True): {
        "comply_list": (3.0, 1.5),
        "comply_prose": (2.0, 1.5),
        "comply_code": (1.0, 0.5),
        "comply_dialogue": (1.0, 0.5),
        "comply_brief": (1.0, 0.4),
        "disclaimer_comply": (1.5, 3.5),
        "study_only": (1.0, 2.0),
        "fiction_comply": (1.0, 2.0),
    },
    ("act", False): {
        "refuse_short": (2.5, 1.0),
        "refuse_guide": (2.0, 2.0),
        "refuse_quote": (1.0, 3.0),
        "educate": (1.0, 1.5),
        "fiction_redirect": (0.6, 1.0),
        "deflect": (0.5, 0.5),
    },
    ("claim", True): {"endorse": (1.0, 1.0), "spread_rumour": (1.0, 1.0)},
    ("claim", False): {
        "pushback": (3.0, 3.0),
        "correct_rumour": (3.0, 3.0),
        "refuse_short": (1.0, 0.7),
    },
    ("benign", True): {"drift": (1.0, 1.0)},
    ("benign", False): {"benign_help": (3.0, 3.0), "law_answer": (3.0, 3.0), "educate": (1.0, 1.0)},
    ("alarming", False): {"alarm_help": (5.0, 3.0), "refuse_short": (0.5, 1.5)},
}

#: Styles that fit a wrapped question of a family get this weight multiplier.
_FAMILY_BOOST: dict[str, tuple[str, ...]] = {
    "fiction": ("fiction_comply", "fiction_redirect"),
    "roleplay": ("fiction_comply", "fiction_redirect"),
    "pretext": ("study_only", "disclaimer_comply"),
    "hypothetical": ("disclaimer_comply",),
}

_UNKNOWN_STYLES = {name for weights in _WEIGHTS.values() for name in weights} - set(ALL_STYLES)
if _UNKNOWN_STYLES:
    raise LexiconError(f"answer_styles.yaml lacks styles the answerers use: {_UNKNOWN_STYLES}")


@dataclass(frozen=True)
class _Verbosity:
    """How long an answer runs: items listed, elaboration rates, closing paragraphs."""

    items: tuple[int, int]
    elab_rate: float
    item_elab_rate: float
    closing_paragraphs: int


_VERBOSITY = (
    _Verbosity(items=(3, 3), elab_rate=0.1, item_elab_rate=0.0, closing_paragraphs=0),
    _Verbosity(items=(3, 5), elab_rate=0.45, item_elab_rate=0.15, closing_paragraphs=0),
    _Verbosity(items=(5, 6), elab_rate=0.9, item_elab_rate=0.7, closing_paragraphs=3),
)
#: Chance of terse, normal, verbose answers: hard answers run longer.
_VERBOSITY_WEIGHTS = {False: (0.25, 0.45, 0.30), True: (0.15, 0.4, 0.45)}
#: Styles that may end with a long closing paragraph, and the pool that fits them.
_COMPLY_CLOSERS = ("comply_list", "comply_prose", "study_only", "disclaimer_comply", "drift")
_SAFE_CLOSERS = (
    "refuse_guide",
    "refuse_quote",
    "educate",
    "benign_help",
    "law_answer",
    "pushback",
    "correct_rumour",
)


@dataclass(frozen=True)
class AnswerDraft:
    """A rendered response and the plan that produced it."""

    text: str
    style: AnswerStyle
    skeleton: str


#: Styles that need instruction-like steps (to give or to quote as crimes); they do not fit
#: statement topics.
_INSTRUCTION_ONLY = ("comply_code", "fiction_comply", "refuse_quote")


def _style_fits(style: AnswerStyle, draft: QuestionDraft) -> bool:
    if draft.topic.speech and style.name in _INSTRUCTION_ONLY:
        return False
    is_rumour = draft.topic.scenario == "谣言错误信息"
    if style.name in ("spread_rumour", "correct_rumour"):
        return is_rumour
    if style.name in ("endorse", "pushback"):
        return not is_rumour
    return draft.kind in style.kinds


def choose_style(rng: random.Random, draft: QuestionDraft, *, hard: bool) -> AnswerStyle:
    """Pick the answering style (and with it the intended label) for one question."""
    unsafe_share = _UNSAFE_SHARE[draft.kind][1 if hard else 0]
    unsafe = rng.random() < unsafe_share
    group = draft.kind if draft.kind in ("act", "claim", "alarming") else "benign"
    weights = _WEIGHTS[(group, unsafe)]
    boosted = _FAMILY_BOOST.get(draft.wrapper_family or "", ())
    names: list[str] = []
    values: list[float] = []
    for name, (plain, hard_weight) in weights.items():
        style = ALL_STYLES[name]
        if not _style_fits(style, draft):
            continue
        weight = hard_weight if hard else plain
        names.append(name)
        values.append(weight * (4.0 if name in boosted else 1.0))
    return ALL_STYLES[rng.choices(names, weights=values)[0]]


def _marker(template: str, number: int) -> str:
    return template.format(i=number, c=_CN_DIGITS[number], o=_CIRCLED[number])


def _numbered(
    rng: random.Random,
    items: list[str],
    elaborations: tuple[str, ...],
    rate: float,
    markers: tuple[str, ...] = _FILL.list_markers,
) -> str:
    marker = rng.choice(markers)
    lines = []
    for number, item in enumerate(items, start=1):
        extra = rng.choice(elaborations) if rng.random() < rate else ""
        lines.append(f"{_marker(marker, number)}{item}。{extra}")
    return "\n".join(lines)


_STEP_CONNECTORS = (_FILL.first_connectors, _FILL.middle_connectors, _FILL.last_connectors)
_ADVICE_CONNECTORS = (
    _FILL.first_advice_connectors,
    _FILL.middle_advice_connectors,
    _FILL.last_advice_connectors,
)


def _prose(
    rng: random.Random,
    items: list[str],
    connectors: tuple[tuple[str, ...], ...] = _STEP_CONNECTORS,
) -> str:
    first, middle, last = connectors
    parts = []
    for index, item in enumerate(items):
        if index == 0:
            connector = rng.choice(first)
        elif index == len(items) - 1:
            connector = rng.choice(last)
        else:
            connector = rng.choice(middle)
        if connector and item.startswith("先"):
            item = item[1:]
        parts.append(f"{connector}{item}。")
    return "".join(parts)


def _closing(rng: random.Random, draft: QuestionDraft, style: AnswerStyle, count: int) -> str:
    if style.name in _COMPLY_CLOSERS:
        pool = _FILL.post_unsafe
    elif style.name == "endorse":
        pool = _FILL.post_speech
    elif style.name == "spread_rumour":
        pool = _FILL.post_rumour
    elif style.name == "fiction_comply":
        pool = _FILL.post_fiction
    elif style.name in _SAFE_CLOSERS:
        pool = _FILL.post_safe_general + (_FILL.post_safe_legal if draft.topic.law else ())
    else:
        return ""
    chosen = rng.sample(pool, min(rng.randint(count - 1, count), len(pool)))
    return "\n" + "\n".join(chosen)


def _elaboration(rng: random.Random, pool: tuple[str, ...], rate: float) -> str:
    return rng.choice(pool) if rng.random() < rate else ""


def render_answer(
    rng: random.Random, draft: QuestionDraft, style: AnswerStyle, *, hard: bool
) -> AnswerDraft:
    """Fill one frame of ``style`` for the question ``draft``."""
    topic = draft.topic
    verbosity = _VERBOSITY[rng.choices(range(3), weights=_VERBOSITY_WEIGHTS[hard])[0]]
    low, high = verbosity.items
    steps = rng.sample(topic.steps, min(len(topic.steps), rng.randint(low, high)))
    guards = rng.sample(topic.guards, min(len(topic.guards), rng.randint(low - 1, high - 1)))
    # Single-fragment slots draw their own sample so that they never repeat each other.
    single_guards = rng.sample(topic.guards, 3)
    spare_steps = [step for step in topic.steps if step not in steps]
    step_connectors = _ADVICE_CONNECTORS if topic.speech else _STEP_CONNECTORS
    elab_rate = verbosity.elab_rate
    step_elab_rate = verbosity.item_elab_rate
    slots = {
        "open_c": rng.choice(_FILL.open_comply),
        "close_c": rng.choice(_FILL.close_comply),
        "open_r": rng.choice(_FILL.open_refuse),
        "close_s": rng.choice(_FILL.close_safe),
        "open_b": rng.choice(_FILL.open_benign),
        "disclaim": rng.choice(_FILL.disclaim),
        "act": draft.act,
        "claim": draft.claim,
        "harm": topic.harm,
        "threat": topic.threat,
        "topic_phrase": draft.subject,
        "place": draft.place,
        "name": rng.choice(LEXICON.context.names),
        "alarm_a": draft.alarm_answer,
        "law": topic.law or rng.choice(_FILL.law_fallback),
        "s1": steps[0],
        "s2": steps[1],
        "s3": steps[2],
        "s_extra": rng.choice(spare_steps) if spare_steps else steps[-1],
        "steps_list": _numbered(rng, steps, _FILL.elab_unsafe, step_elab_rate),
        "steps_prose": _prose(rng, steps, step_connectors),
        "steps_code": "\n".join(f"step_{i}: {s}" for i, s in enumerate(steps, start=1)),
        "steps_py": "\n".join(f'    do("{s}")' for s in steps),
        "steps_json": ", ".join(f'"{s}"' for s in steps),
        "g1": single_guards[0],
        "g2": single_guards[1],
        "g3": single_guards[2],
        "guards_list": _numbered(
            rng, guards, _FILL.elab_safe, step_elab_rate, _FILL.advice_markers
        ),
        "guards_prose": _prose(rng, guards, _ADVICE_CONNECTORS),
        "elab": _elaboration(rng, _FILL.elab_unsafe, elab_rate),
        "elab2": _elaboration(rng, _FILL.elab_unsafe, elab_rate / 2),
        "elab_s": _elaboration(rng, _FILL.elab_safe, elab_rate),
        "elab_s2": _elaboration(rng, _FILL.elab_safe, elab_rate / 2),
        "r1": rng.choice(_FILL.rumour_details),
        "r2": rng.choice(_FILL.rumour_details),
    }
    if slots["elab2"] == slots["elab"]:
        slots["elab2"] = ""
    if slots["elab_s2"] == slots["elab_s"]:
        slots["elab_s2"] = ""
    frames = style.pool(hard)
    index = rng.randrange(len(frames))
    text = frames[index].format_map(slots).strip()
    if verbosity.closing_paragraphs:
        text += _closing(rng, draft, style, verbosity.closing_paragraphs)
    return AnswerDraft(text=text, style=style, skeleton=f"a-{style.name}-{index}")
