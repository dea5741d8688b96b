"""Chat messages of each role, built from ``prompts.yaml`` (wording is data, not code).

The judges get Libra-Guard's own prompt (``libra_guard.modeling.prompt``) so that their answers
are in the Libra answer format the guard is trained to produce; answerers get the bare query,
as a user would send it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from libra_guard.data.teacher.elements import Combination
from libra_guard.modeling.prompt import build_user_message

PROMPTS_FILE = Path(__file__).with_name("prompts.yaml")

Messages = list[dict[str, str]]


@cache
def prompt_book() -> dict:
    """The parsed ``prompts.yaml`` (read once per process)."""
    return yaml.safe_load(PROMPTS_FILE.read_text(encoding="utf-8"))


def generator_messages(combination: Combination, count: int) -> Messages:
    """Ask for ``count`` harmful queries on one element combination, as a JSON list."""
    text = prompt_book()["generator"].format(count=count, **combination.elements())
    return [{"role": "user", "content": text}]


def augmentation_messages(kind: str, query: str) -> Messages:
    """Ask for one augmented version (``rewrite``, ``paraphrase``, ``red_team``) of a query."""
    return [{"role": "user", "content": prompt_book()["augmentations"][kind].format(query=query)}]


def answerer_messages(query: str) -> Messages:
    """The query alone, as a user would send it."""
    return [{"role": "user", "content": query}]


def judge_messages(query: str, response: str) -> Messages:
    """Libra-Guard's prompt on one (query, response) pair: the judge answers in Libra format."""
    return [{"role": "user", "content": build_user_message(query, response)}]
