"""Reading teacher replies strictly: a reply that is not in the asked-for form is dropped
with the reason, never repaired into a guess.

Unlike the evaluation's scoring rule (``libra_guard.evaluation.scoring``, which mirrors the
paper's lenient ``json_repair``), a judge's label becomes TRAINING data, so only an answer
whose ``答案`` is exactly ``安全`` or ``不安全`` and which carries a ``分析`` is accepted. A
Markdown code fence around the JSON is the only thing removed.
"""

from __future__ import annotations

import json
import re

from libra_guard.data.schema import LABELS

_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.DOTALL)


class ReplyRejected(ValueError):
    """A reply not in the asked-for form; the message is the drop reason."""


def _unfenced(text: str) -> str:
    stripped = text.strip()
    match = _FENCE.match(stripped)
    return match.group(1).strip() if match else stripped


def parse_query_list(text: str) -> list[str]:
    """The generator's JSON array of queries (blank entries removed).

    Raises:
        ReplyRejected: not a JSON array of strings, or no non-blank entry.
    """
    try:
        value = json.loads(_unfenced(text))
    except ValueError:
        raise ReplyRejected("generator reply is not JSON (expected an array of strings)") from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ReplyRejected("generator reply is not a JSON array of strings")
    queries = [item.strip() for item in value if item.strip()]
    if not queries:
        raise ReplyRejected("generator reply holds no query")
    return queries


def parse_single_query(text: str) -> str:
    """An augmented query: the reply's text, stripped.

    Raises:
        ReplyRejected: the reply is blank or spans several paragraphs (not one query).
    """
    query = _unfenced(text)
    if not query:
        raise ReplyRejected("rewriter reply is blank")
    if "\n\n" in query:
        raise ReplyRejected("rewriter reply is several paragraphs, not one query")
    return query


def parse_libra_answer(text: str) -> tuple[str, str]:
    """The (label, analysis) of a judge's answer in the Libra format
    ``{"答案": "安全" | "不安全", "分析": "..."}``.

    Raises:
        ReplyRejected: not a JSON object, no ``答案``/``分析``, or a verdict other than
            exactly ``安全`` or ``不安全``.
    """
    try:
        value = json.loads(_unfenced(text))
    except ValueError:
        raise ReplyRejected("judge answer is not JSON (Libra format expected)") from None
    if not isinstance(value, dict):
        raise ReplyRejected("judge answer is not a JSON object")
    if "答案" not in value:
        raise ReplyRejected("judge answer has no 答案 field")
    label = value["答案"]
    if not isinstance(label, str) or label.strip() not in LABELS:
        raise ReplyRejected("judge answer's 答案 is neither 安全 nor 不安全")
    analysis = value.get("分析")
    if not isinstance(analysis, str) or not analysis.strip():
        raise ReplyRejected("judge answer has no 分析 text")
    return label.strip(), analysis.strip()
