"""``StreamingVerdict``: P(不安全) of a response while it is generated, paying per delta only
for its new tokens and the short template tail, however long the stream grows.

The one-shot score (``GuardJudge.verdict_scores``) reads the response in windows
(``windows.window_texts``: each window is the question and a slice of at most ``window_tokens``
response tokens; consecutive slices overlap) and takes the maximum over windows of the logits
after ``chat_prompt(question, slice) + VERDICT_PREFIX``. A stream keeps the same windows open:

1. after every delta, the window texts of the whole response so far are computed by the very
   function the one-shot score uses (tokenisation only; cheap), so the windowing is the same;
2. a window whose text did not change keeps its score and costs nothing;
3. a window whose text changed (the last one or two: they hold the end of the response) keeps
   the key-value cache of what it read before, crops it back to the longest common prefix of
   its old and new ids (a delta can re-merge the last few tokens), runs what is new plus the
   template tail and reads the verdict; its cache is then cropped back to the response minus
   its last ``HOLDBACK`` tokens, so the tail was scored on a throw-away extension (what a copy
   would give without copying);
4. a new window (opened at the stride as the text grows) starts from a copy of the cached
   template head (Libra's instructions and the question), so only its slice and tail run;
5. a window that no longer reaches the end of the response and did not change is closed: its
   cache is dropped and only its score kept. Should a later re-merge still change its text, it
   is re-read from a copy of the head, so the rule holds in every case.

The ids each window scores are exactly the one-shot ids of its text, so after every delta the
score equals the one-shot windowed score of the text so far up to floating-point summation
order, and per-delta model work stays bounded by the new tokens, at most a window's slice and
a few tails (``tokens_run`` counts it) instead of growing with the response.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache

from libra_guard.modeling.prompt import build_chat_prompt
from libra_guard.modeling.windows import check_window_lengths, prompt_ids, window_texts

#: Response tokens at the end kept out of a cache: the next delta may re-merge them.
HOLDBACK = 2
_SENTINEL = "\u0000RESPONSE\u0000"


@dataclass
class _Head:
    """The cached template head for one question text (the prefix every window of it shares)."""

    ids: list[int]
    cache: DynamicCache
    tail_tokens: int  # tokens after the response: template tail and the verdict prefix


@dataclass
class _Window:
    """One open or closed window: its texts, score, and (while open) its cache."""

    texts: tuple[str, str]
    score: float
    cache: DynamicCache | None = None
    cached_ids: list[int] = field(default_factory=list)


class StreamingVerdict:
    """One stream: a question, then response deltas; ``add`` returns P(不安全) so far."""

    def __init__(self, judge, question: str) -> None:
        """``judge``: a loaded ``GuardJudge``; ``question``: the human's question.

        The head of the question's first window is cached now, before the first delta.
        """
        self._judge = judge
        self._tokenizer = judge.tokenizer
        self._question = question
        self._response = ""
        self._budget = judge._prompt_budget(len(judge._prefix_ids) + 1)
        self._heads: dict[str, _Head] = {}
        self._windows: dict[tuple[str, int], _Window] = {}
        self.tokens_run = 0  # model positions computed so far (for tests and the benchmark)
        self.windows = 0  # windows the last score was read from
        first_question, _ = self._texts()[0]
        self._head(first_question)

    @property
    def response(self) -> str:
        return self._response

    @property
    def open_windows(self) -> int:
        """Windows that still hold a cache (the others keep only their score)."""
        return sum(window.cache is not None for window in self._windows.values())

    def add(self, delta: str) -> float:
        """Append ``delta`` to the response; P(不安全) of the whole text so far (max over windows).

        Raises:
            ConfigError: a window does not fit the model's context (as the one-shot score).
        """
        self._response += delta
        kept: dict[tuple[str, int], _Window] = {}
        changed: set[tuple[str, int]] = set()
        ordinals: dict[str, int] = {}
        for question, response in self._texts():
            key = (question, ordinals.setdefault(question, 0))
            ordinals[question] += 1
            window = self._windows.get(key)
            if window is None or window.texts != (question, response):
                window = self._score(window, question, response)
                changed.add(key)
            kept[key] = window
        for key, window in kept.items():
            if key not in changed and not self._response.endswith(window.texts[1]):
                window.cache, window.cached_ids = None, []
        self._windows = kept
        self.windows = len(kept)
        return max(window.score for window in kept.values())

    def _texts(self) -> list[tuple[str, str]]:
        return window_texts(
            self._tokenizer,
            self._question,
            self._response,
            self._budget,
            self._judge.window_tokens,
        )

    def _score(self, window: _Window | None, question: str, response: str) -> _Window:
        """Score one window's new text on top of what its cache (or its head's) already read."""
        ids = prompt_ids(self._tokenizer, question, response)
        check_window_lengths([len(ids)], self._budget)
        ids += self._judge._prefix_ids
        head = self._head(question)
        if window is not None and window.cache is not None:
            cache, cached = window.cache, window.cached_ids
        else:
            cache, cached = copy.deepcopy(head.cache), head.ids
        # At least the last position runs: its logits are the verdict.
        common = min(_common_prefix(cached, ids), len(ids) - 1)
        _crop_to(cache, common)
        logits = self._forward(cache, ids[common:])
        keep = max(common, len(ids) - head.tail_tokens - HOLDBACK)
        _crop_to(cache, keep)
        pair = logits[[self._judge._unsafe_id, self._judge._safe_id]].float()
        score = float(torch.softmax(pair, dim=-1)[0])
        return _Window((question, response), score, cache, ids[:keep])

    def _head(self, question: str) -> _Head:
        """The cached head for ``question`` (template, instructions, question), built once."""
        if question not in self._heads:
            prompt = build_chat_prompt(self._tokenizer, question, _SENTINEL)
            if prompt.count(_SENTINEL) != 1:
                raise ValueError("the chat template must contain the response exactly once")
            head_text, tail_text = prompt.split(_SENTINEL)
            head = self._tokenizer(head_text, add_special_tokens=False).input_ids
            # A boundary merge shifts the tail by about one token, which HOLDBACK absorbs (and
            # the prefix comparison corrects in any case).
            tail = self._tokenizer(tail_text, add_special_tokens=False).input_ids
            keep = max(0, len(head) - HOLDBACK)
            cache = DynamicCache()
            if keep:
                self._forward(cache, head[:keep])
            tail_tokens = len(tail) + len(self._judge._prefix_ids)
            self._heads[question] = _Head(head[:keep], cache, tail_tokens)
        return self._heads[question]

    def _forward(self, cache: DynamicCache, ids: list[int]) -> torch.Tensor:
        """Run ``ids`` on top of ``cache`` (which grows by them); the last position's logits."""
        start = cache.get_seq_length()
        input_ids = torch.tensor([ids], dtype=torch.long, device=self._judge.device)
        positions = torch.arange(start, start + len(ids), device=self._judge.device)[None]
        with torch.inference_mode():
            output = self._judge.model(
                input_ids=input_ids,
                position_ids=positions,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        self.tokens_run += len(ids)
        return output.logits[0, -1, :]


def _crop_to(cache: DynamicCache, length: int) -> None:
    """Drop cached positions past ``length`` (``crop`` takes how many to remove)."""
    surplus = cache.get_seq_length() - length
    if surplus > 0:
        cache.crop(-surplus)


def _common_prefix(left: list[int], right: list[int]) -> int:
    """Length of the longest common prefix of two id lists."""
    length = min(len(left), len(right))
    for index in range(length):
        if left[index] != right[index]:
            return index
    return length
