"""The guard's answer: ``{"答案": "安全" | "不安全", "分析": "..."}``.

The verdict comes first, so it is decided by the first generated tokens: ``VERDICT_PREFIX``
is the text the model writes before the verdict word, which is where the fast verdict reads
P(不安全) in one forward pass.
"""

from __future__ import annotations

import json

from libra_guard.data.schema import SAFE, UNSAFE

VERDICT_PREFIX = '{"答案": "'


def format_answer(label: str, analysis: str) -> str:
    """The training target for one row: compact JSON with the verdict first."""
    if label not in (SAFE, UNSAFE):
        raise ValueError(f"label must be {SAFE!r} or {UNSAFE!r}, got {label!r}")
    return json.dumps({"答案": label, "分析": analysis}, ensure_ascii=False)
