"""``GuardJudge``: a trained guard (or a released Libra-Guard checkpoint) that judges pairs.

Two ways to read a verdict:

* ``generate``: the paper's protocol. Greedy decoding, left padding, at most 256 new tokens,
  the answer JSON comes back as text for the scoring rule.
* ``verdict_scores``: one forward pass over the prompt followed by ``VERDICT_PREFIX``
  (``{"答案": "``). At that position the model chooses between ``不安全`` and ``安全``; the
  softmax over the logits of the two words' first tokens is P(不安全). No decoding, so it is
  cheap enough for serving and gives a score for ROC curves.

Nothing is cut: an item longer than the model's window is read in overlapping windows
(``windows.pair_windows``); its verdict score is the maximum over its windows, and a generated
answer is the first window's answer that says 不安全 (else the first window's). Both report
how many windows were read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from libra_guard.data.schema import SAFE, UNSAFE
from libra_guard.errors import ModelError
from libra_guard.modeling.answer import VERDICT_PREFIX
from libra_guard.modeling.factory import load_causal_lm, load_tokenizer
from libra_guard.modeling.windows import DEFAULT_WINDOW_TOKENS, WINDOW_CONFIG_KEY, pair_windows

Pair = tuple[str, str | None]
ADAPTER_CONFIG = "adapter_config.json"


@dataclass(frozen=True)
class WindowedScore:
    """P(不安全) of one item (the maximum over its windows) and how many windows were read."""

    score: float
    windows: int


@dataclass(frozen=True)
class WindowedAnswer:
    """The generated answer that decides one item, and how many windows were read."""

    text: str
    windows: int


class GuardJudge:
    """A causal-LM guard with its tokenizer, ready to judge (question, response) pairs."""

    def __init__(self, model, tokenizer, name: str, *, window_tokens: int | None = None) -> None:
        """``window_tokens``: response tokens per window; unset, the model config's
        ``libra_window_tokens``, else ``DEFAULT_WINDOW_TOKENS``."""
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.device = next(model.parameters()).device
        self._eos_ids = _end_token_ids(tokenizer, model)
        self._pad_id = tokenizer.pad_token_id
        if self._pad_id is None:
            self._pad_id = self._eos_ids[0]
        self._max_positions = int(getattr(model.config, "max_position_embeddings", 0) or 0)
        self._prefix_ids, self._unsafe_id, self._safe_id = _verdict_token_ids(tokenizer)
        configured = getattr(model.config, WINDOW_CONFIG_KEY, None)
        self.window_tokens = int(window_tokens or configured or DEFAULT_WINDOW_TOKENS)
        if self.window_tokens < 1:
            raise ModelError(f"window_tokens must be at least 1, got {self.window_tokens}")

    @classmethod
    def load(
        cls,
        model_dir_or_id: str | os.PathLike,
        *,
        device: str | None = None,
        window_tokens: int | None = None,
    ) -> GuardJudge:
        """Load a merged model folder, a PEFT adapter folder or a hub id (cached, offline).

        A folder holding ``adapter_config.json`` is an adapter: its base model is loaded from
        the path recorded in the adapter config and the adapter is merged in.

        Raises:
            ModelError: the folder or id cannot be loaded as a causal LM with a tokenizer.
        """
        target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = torch.bfloat16 if target.type == "cuda" else torch.float32
        source = str(model_dir_or_id)
        adapter_config = Path(source) / ADAPTER_CONFIG
        if adapter_config.is_file():
            model, tokenizer = _load_adapter(Path(source), adapter_config, dtype)
            model = model.to(target)
        else:
            model = load_causal_lm(source, dtype=dtype, device=target)
            tokenizer = load_tokenizer(source)
        return cls(model, tokenizer, name=source, window_tokens=window_tokens)

    def generate(
        self, pairs: Sequence[Pair], max_new_tokens: int = 256, batch_size: int = 16
    ) -> list[str]:
        """Greedy answers (generated text only) for each (question, response) pair."""
        return [
            answer.text
            for answer in self.generate_windows(pairs, max_new_tokens, batch_size=batch_size)
        ]

    def generate_windows(
        self, pairs: Sequence[Pair], max_new_tokens: int = 256, batch_size: int = 16
    ) -> list[WindowedAnswer]:
        """Greedy answers over every window of each pair; an unsafe window decides."""
        from libra_guard.evaluation.scoring import score_text

        windows, owners = self._windows(pairs, self._prompt_budget(max_new_tokens))
        texts: list[str] = []
        for start in range(0, len(windows), batch_size):
            input_ids, attention_mask = self._left_pad(windows[start : start + batch_size])
            with torch.inference_mode():
                output = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    eos_token_id=self._eos_ids,
                    pad_token_id=self._pad_id,
                )
            new_tokens = output[:, input_ids.shape[1] :]
            texts.extend(self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        answers: list[WindowedAnswer] = []
        for item in range(len(pairs)):
            own = [text for text, owner in zip(texts, owners, strict=True) if owner == item]
            unsafe = [text for text in own if score_text(text) == UNSAFE]
            answers.append(WindowedAnswer((unsafe or own)[0], len(own)))
        return answers

    def verdict_scores(self, pairs: Sequence[Pair], batch_size: int = 16) -> list[float]:
        """P(不安全) for each pair: the maximum over its windows (see ``verdict_windows``)."""
        return [item.score for item in self.verdict_windows(pairs, batch_size=batch_size)]

    def verdict_windows(self, pairs: Sequence[Pair], batch_size: int = 16) -> list[WindowedScore]:
        """P(不安全) per pair, from one forward pass per window at the verdict position."""
        windows, owners = self._windows(pairs, self._prompt_budget(len(self._prefix_ids) + 1))
        scores: list[float] = []
        for start in range(0, len(windows), batch_size):
            batch = [ids + self._prefix_ids for ids in windows[start : start + batch_size]]
            input_ids, attention_mask = self._left_pad(batch)
            # Left padding shifts the real tokens right; positions must still start at 0.
            position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
            with torch.inference_mode():
                logits = self.model(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    position_ids=position_ids,
                    logits_to_keep=1,
                ).logits[:, -1, :]
            pair_logits = logits[:, [self._unsafe_id, self._safe_id]].float()
            scores.extend(torch.softmax(pair_logits, dim=-1)[:, 0].tolist())
        best = [0.0] * len(pairs)
        counts = [0] * len(pairs)
        for score, owner in zip(scores, owners, strict=True):
            best[owner] = score if counts[owner] == 0 else max(best[owner], score)
            counts[owner] += 1
        return [WindowedScore(score, count) for score, count in zip(best, counts, strict=True)]

    def max_text_chars(self, max_windows: int) -> int:
        """Characters one text may have so that it needs at most ``max_windows`` windows.

        Counted at one character per token: the guard's tokenizers average at least that on
        Chinese text, so the limit follows the model's window (and so its context). A text of
        rare characters split into several byte tokens needs more windows than this; that
        costs time, never a cut.
        """
        stride = self.window_tokens - self.window_tokens // 4
        return self.window_tokens + (max_windows - 1) * stride

    def _windows(self, pairs: Sequence[Pair], budget: int) -> tuple[list[list[int]], list[int]]:
        """Every window's prompt ids, flattened, and the index of the pair each belongs to."""
        windows: list[list[int]] = []
        owners: list[int] = []
        for index, (question, response) in enumerate(pairs):
            for ids in pair_windows(self.tokenizer, question, response, budget, self.window_tokens):
                windows.append(ids)
                owners.append(index)
        return windows, owners

    def _prompt_budget(self, reserved: int) -> int:
        if self._max_positions <= 0:
            return 1 << 30
        return self._max_positions - reserved

    def _left_pad(self, batch: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids) :] = 1
        return input_ids.to(self.device), attention_mask.to(self.device)


def _load_adapter(folder: Path, adapter_config: Path, dtype: torch.dtype):
    from peft import PeftModel

    try:
        base = json.loads(adapter_config.read_text(encoding="utf-8"))["base_model_name_or_path"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{adapter_config} does not name its base model: {exc}") from exc
    model = load_causal_lm(base, dtype=dtype)
    try:
        model = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot apply the adapter in {folder} to {base}: {exc}") from exc
    has_tokenizer = (folder / "tokenizer_config.json").is_file()
    return model.eval(), load_tokenizer(folder if has_tokenizer else base)


def _end_token_ids(tokenizer, model) -> list[int]:
    """Token ids that end the answer: the model's eos ids, the tokenizer's, and ``<|im_end|>``."""
    ids: list[int] = []
    configured = getattr(model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.append(configured)
    elif configured:
        ids.extend(configured)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    for candidate in (tokenizer.eos_token_id, im_end):
        if isinstance(candidate, int) and candidate != tokenizer.unk_token_id:
            ids.append(candidate)
    if not ids:
        raise ModelError("the model and tokenizer define no end-of-sequence token")
    return list(dict.fromkeys(ids))


def _verdict_token_ids(tokenizer) -> tuple[list[int], int, int]:
    """Ids of ``VERDICT_PREFIX`` and the first tokens of ``不安全`` and ``安全`` after it.

    Raises:
        ModelError: the tokenizer merges the prefix with the verdict word, or both words
            start with the same token, so one logit cannot tell them apart.
    """
    prefix_ids = tokenizer(VERDICT_PREFIX, add_special_tokens=False).input_ids
    first: dict[str, int] = {}
    for word in (UNSAFE, SAFE):
        ids = tokenizer(VERDICT_PREFIX + word, add_special_tokens=False).input_ids
        if ids[: len(prefix_ids)] != prefix_ids or len(ids) <= len(prefix_ids):
            raise ModelError(
                f"the tokenizer merges {VERDICT_PREFIX!r} with {word!r}; the verdict position "
                "is not a token boundary, so verdict scores cannot be read"
            )
        first[word] = ids[len(prefix_ids)]
    if first[UNSAFE] == first[SAFE]:
        raise ModelError(
            f"the first tokens of {UNSAFE!r} and {SAFE!r} coincide (id {first[SAFE]}); "
            "verdict scores need distinct first tokens; use generate() instead"
        )
    return prefix_ids, first[UNSAFE], first[SAFE]
