"""``GuardJudge``: a trained guard (or a released Libra-Guard checkpoint) that judges pairs.

Two ways to read a verdict:

* ``generate``: the paper's protocol. Greedy decoding, left padding, at most 256 new tokens,
  the answer JSON comes back as text for the scoring rule.
* ``verdict_scores``: one forward pass over the prompt followed by ``VERDICT_PREFIX``
  (``{"答案": "``). At that position the model chooses between ``不安全`` and ``安全``; the
  softmax over the logits of the two words' first tokens is P(不安全). No decoding, so it is
  cheap enough for serving and gives a score for ROC curves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from libra_guard.data.schema import SAFE, UNSAFE
from libra_guard.errors import ModelError
from libra_guard.modeling.answer import VERDICT_PREFIX
from libra_guard.modeling.factory import load_causal_lm, load_tokenizer
from libra_guard.modeling.features import fit_prompt_ids

Pair = tuple[str, str]
ADAPTER_CONFIG = "adapter_config.json"


class GuardJudge:
    """A causal-LM guard with its tokenizer, ready to judge (question, response) pairs."""

    def __init__(self, model, tokenizer, name: str) -> None:
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

    @classmethod
    def load(cls, model_dir_or_id: str | os.PathLike, *, device: str | None = None) -> GuardJudge:
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
        return cls(model, tokenizer, name=source)

    def generate(
        self, pairs: Sequence[Pair], max_new_tokens: int = 256, batch_size: int = 16
    ) -> list[str]:
        """Greedy answers (generated text only) for each (question, response) pair."""
        budget = self._prompt_budget(max_new_tokens)
        answers: list[str] = []
        for start in range(0, len(pairs), batch_size):
            batch = [self._prompt_ids(q, r, budget) for q, r in pairs[start : start + batch_size]]
            input_ids, attention_mask = self._left_pad(batch)
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
            answers.extend(self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        return answers

    def verdict_scores(self, pairs: Sequence[Pair], batch_size: int = 16) -> list[float]:
        """P(不安全) for each pair, from one forward pass at the verdict position."""
        budget = self._prompt_budget(len(self._prefix_ids) + 1)
        scores: list[float] = []
        for start in range(0, len(pairs), batch_size):
            batch = [
                self._prompt_ids(q, r, budget) + self._prefix_ids
                for q, r in pairs[start : start + batch_size]
            ]
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
        return scores

    def _prompt_budget(self, reserved: int) -> int:
        if self._max_positions <= 0:
            return 1 << 30
        return self._max_positions - reserved

    def _prompt_ids(self, question: str, response: str, budget: int) -> list[int]:
        ids, _ = fit_prompt_ids(self.tokenizer, question, response, budget)
        return ids

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
