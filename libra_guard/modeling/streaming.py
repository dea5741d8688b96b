"""``StreamingVerdict``: P(不安全) of a response while it is generated, paying per delta only
for its new tokens and the short template tail.

The one-shot score reads the logits after ``chat_prompt(question, response) + VERDICT_PREFIX``.
That prompt is ``head + response + tail``: ``head`` is everything up to the response (template,
Libra's instructions, the question), ``tail`` the few tokens after it (end of the user turn,
assistant header, ``{"答案": "``). While the response grows, ``head`` and most of the response
do not change, so their key-value cache is kept between deltas:

1. tokenise the whole prompt (cheap, and the only way to get exactly the one-shot ids: BPE
   merges across the boundary where the next delta attaches);
2. keep the cached ids that still agree with the new ones (longest common prefix; the cache is
   cropped back if the last tokens were re-merged);
3. run the model once over everything new (the new response tokens and the tail) on top of
   the kept cache and read the verdict logits;
4. crop the cache back to the response minus its last ``HOLDBACK`` tokens (the next delta
   may re-merge them): the tail was scored on a throw-away extension of the cache, which is
   what a copy would give without copying the prefix's tensors.

The ids scored after each delta are exactly the one-shot ids of the text so far, so the score
equals ``GuardJudge.verdict_scores`` of the whole text up to floating-point summation order.

Long streams: once the judge would read the text in more than one window (the response past
the model's ``window_tokens``, or the prompt past its context; ``windows.pair_windows``), each
delta is scored one-shot by the judge (``GuardJudge.verdict_scores``: the maximum over the
windows), so a stream follows the same windowing rule as every other path; the cache is
dropped. Streaming inside the last window only (earlier windows' scores are final) is not
built yet.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache

from libra_guard.modeling.prompt import build_chat_prompt

#: Response tokens at the end kept out of the cache: the next delta may re-merge them.
HOLDBACK = 2
_SENTINEL = "\u0000RESPONSE\u0000"


class StreamingVerdict:
    """One stream: a question, then response deltas; ``add`` returns P(不安全) so far."""

    def __init__(self, judge, question: str) -> None:
        """``judge``: a loaded ``GuardJudge``; ``question``: the human's question."""
        self._judge = judge
        self._tokenizer = judge.tokenizer
        prompt = build_chat_prompt(self._tokenizer, question, _SENTINEL)
        if prompt.count(_SENTINEL) != 1:
            raise ValueError("the chat template must contain the response exactly once")
        self._head, self._tail = prompt.split(_SENTINEL)
        # Tokens after the response (tail + verdict prefix); a boundary merge shifts this by
        # about one, which HOLDBACK absorbs (and the prefix comparison corrects in any case).
        self._tail_tokens = len(
            self._tokenizer(self._tail, add_special_tokens=False).input_ids
        ) + len(judge._prefix_ids)
        self._question = question
        self._response = ""
        self._cache = DynamicCache()
        self._cached_ids: list[int] = []
        self.tokens_run = 0  # model positions computed so far (for the benchmark)
        self._prefill()

    @property
    def response(self) -> str:
        return self._response

    def add(self, delta: str) -> float:
        """Append ``delta`` to the response and return P(不安全) of the whole text so far."""
        self._response += delta
        full = (
            self._tokenizer(
                self._head + self._response + self._tail, add_special_tokens=False
            ).input_ids
            + self._judge._prefix_ids
        )
        if not self._one_window(full):
            return self._one_shot()
        common = _common_prefix(self._cached_ids, full)
        if common < len(self._cached_ids):
            self._crop_to(common)
            self._cached_ids = self._cached_ids[:common]
        # One pass over everything new; then keep only what the next delta cannot change.
        logits = self._forward(full[common:])
        keep = max(common, len(full) - self._tail_tokens - HOLDBACK)
        self._crop_to(keep)
        self._cached_ids = full[:keep]
        pair = logits[[self._judge._unsafe_id, self._judge._safe_id]].float()
        return float(torch.softmax(pair, dim=-1)[0])

    def _prefill(self) -> None:
        """Cache the head (template, instructions, question) before the first delta."""
        head = self._tokenizer(self._head, add_special_tokens=False).input_ids
        keep = len(head) - HOLDBACK
        if keep > 0 and not (self._judge._max_positions and keep > self._judge._max_positions):
            self._forward(head[:keep])
            self._cached_ids = head[:keep]

    def _forward(self, ids: list[int]) -> torch.Tensor:
        """Run ``ids`` on top of the cache (which grows by them); the last position's logits."""
        start = self._cache.get_seq_length()
        input_ids = torch.tensor([ids], dtype=torch.long, device=self._judge.device)
        positions = torch.arange(start, start + len(ids), device=self._judge.device)[None]
        with torch.inference_mode():
            output = self._judge.model(
                input_ids=input_ids,
                position_ids=positions,
                cache=self._cache,
                use_cache=True,
                logits_to_keep=1,
            )
        self.tokens_run += len(ids)
        return output.logits[0, -1, :]

    def _one_window(self, full: list[int]) -> bool:
        """Whether the judge reads the text so far as one window (``windows.pair_windows``):
        the response within ``window_tokens`` and the prompt within the model's context."""
        response_tokens = len(self._tokenizer(self._response, add_special_tokens=False).input_ids)
        limit = self._judge._max_positions
        fits = not limit or len(full) + 1 <= limit
        return fits and response_tokens <= self._judge.window_tokens

    def _crop_to(self, length: int) -> None:
        """Drop cached positions past ``length`` (``crop`` takes how many to remove)."""
        surplus = self._cache.get_seq_length() - length
        if surplus > 0:
            self._cache.crop(-surplus)

    def _one_shot(self) -> float:
        self._cache = DynamicCache()
        self._cached_ids = []
        [score] = self._judge.verdict_scores([(self._question, self._response)], batch_size=1)
        return float(score)


def _common_prefix(left: list[int], right: list[int]) -> int:
    """Length of the longest common prefix of two id lists."""
    length = min(len(left), len(right))
    for index in range(length):
        if left[index] != right[index]:
            return index
    return length
