"""Length bucketing: which pairs of a batch share a forward pass.

A forward pass pads every row to its longest, so one long item in a pass of short ones makes
all of them cost its length. The pairs of a batch are therefore sorted by length and cut into
passes of at most ``max_items`` pairs whose padded size (pairs times the longest) stays
within ``max_tokens``. Lengths are counted in characters of the question and response: the
guard's tokenizers pack at least one character into a token on Chinese text, so characters
bound the tokens from above and a pass never exceeds the budget by the text's count.
"""

from __future__ import annotations

from collections.abc import Sequence

#: (question, response); ``None`` as the response: a prompt (the question alone is judged).
Pair = tuple[str, str | None]


def text_length(pair: Pair) -> int:
    """Characters of the question and the response (an upper bound on their tokens)."""
    return len(pair[0]) + len(pair[1] or "")


def length_buckets(pairs: Sequence[Pair], max_items: int, max_tokens: int) -> list[list[int]]:
    """Indices into ``pairs``, grouped into passes by length (shortest first).

    A pair longer than ``max_tokens`` on its own gets a pass of its own (the judge windows it).
    """
    order = sorted(range(len(pairs)), key=lambda index: text_length(pairs[index]))
    buckets: list[list[int]] = []
    current: list[int] = []
    for index in order:
        # Sorted ascending, so this pair is the longest of the pass it joins.
        padded = (len(current) + 1) * text_length(pairs[index])
        if current and (len(current) >= max_items or padded > max_tokens):
            buckets.append(current)
            current = []
        current.append(index)
    if current:
        buckets.append(current)
    return buckets
