"""The tiny Qwen2 model, its round trip through save/load, LoRA, and the judge."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from libra_guard.errors import ModelError
from libra_guard.modeling.factory import load_causal_lm, load_tokenizer
from libra_guard.modeling.features import collate, encode_row
from libra_guard.modeling.judge import GuardJudge, _verdict_token_ids
from libra_guard.modeling.lora import LoraSettings, apply_lora


def _batch(tiny_base, rows):
    tokenizer = load_tokenizer(tiny_base)
    return collate([encode_row(tokenizer, row, 512) for row in rows], tokenizer.pad_token_id)


def test_tiny_model_is_qwen2_and_runs_forward(tiny_base, guard_rows):
    model = load_causal_lm(tiny_base)
    batch = _batch(tiny_base, guard_rows[:2])
    output = model(**batch)
    assert model.config.model_type == "qwen2"
    assert output.logits.shape == (*batch["input_ids"].shape, model.config.vocab_size)
    assert torch.isfinite(output.loss)


def test_save_and_from_pretrained_give_identical_logits(tiny_base, guard_rows, tmp_path):
    model = load_causal_lm(tiny_base)
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    batch = _batch(tiny_base, guard_rows[:2])
    with torch.no_grad():
        assert torch.equal(
            model(input_ids=batch["input_ids"]).logits,
            reloaded(input_ids=batch["input_ids"]).logits,
        )


def test_lora_training_changes_only_adapter_weights(tiny_base, guard_rows):
    model = apply_lora(load_causal_lm(tiny_base), LoraSettings(rank=4, alpha=8, dropout=0.0))
    trainable = {name for name, param in model.named_parameters() if param.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
    before = {name: param.detach().clone() for name, param in model.named_parameters()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(2):  # lora_B starts at zero, so lora_A only moves from the second step
        model(**_batch(tiny_base, guard_rows[:2])).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    changed = {
        name for name, param in model.named_parameters() if not torch.equal(param, before[name])
    }
    assert changed == trainable


def test_verdict_scores_are_probabilities(tiny_base, guard_rows):
    judge = GuardJudge.load(tiny_base)
    pairs = [(row.question, row.response) for row in guard_rows[:5]]
    scores = judge.verdict_scores(pairs, batch_size=2)
    assert len(scores) == 5
    assert all(0.0 <= score <= 1.0 for score in scores)


def test_left_padding_does_not_change_verdict_scores(tiny_base, guard_rows):
    judge = GuardJudge.load(tiny_base)
    pairs = [(row.question, row.response * (1 + index)) for index, row in enumerate(guard_rows[:4])]
    one_by_one = judge.verdict_scores(pairs, batch_size=1)
    batched = judge.verdict_scores(pairs, batch_size=4)
    assert batched == pytest.approx(one_by_one, abs=1e-4)


def test_generate_returns_only_the_new_text(tiny_base, guard_rows):
    judge = GuardJudge.load(tiny_base)
    answers = judge.generate([(guard_rows[0].question, guard_rows[0].response)] * 2, 8, 2)
    assert len(answers) == 2
    assert all(isinstance(answer, str) for answer in answers)
    assert "# 背景" not in answers[0]
    assert answers[0] == answers[1]  # greedy


def test_judge_loads_a_peft_adapter_folder(tiny_base, guard_rows, tmp_path):
    model = apply_lora(load_causal_lm(tiny_base), LoraSettings(rank=4, alpha=8, dropout=0.0))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5)
    model.save_pretrained(tmp_path / "adapter")
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_base)
    merged = GuardJudge(model.merge_and_unload(), load_tokenizer(tiny_base), "merged")
    pairs = [(row.question, row.response) for row in guard_rows[:3]]
    from_adapter = GuardJudge.load(tmp_path / "adapter").verdict_scores(pairs)
    assert from_adapter == pytest.approx(merged.verdict_scores(pairs), abs=1e-5)
    assert from_adapter != pytest.approx(GuardJudge.load(tiny_base).verdict_scores(pairs))


def test_missing_model_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot load"):
        GuardJudge.load(tmp_path / "nowhere")


class _SameFirstToken:
    """A tokenizer whose verdict words both start with token 7."""

    def __call__(self, text, add_special_tokens=False):
        ids = [1, 2, 3] + ([7, 8] if text.endswith("安全") else [])

        class Encoded:
            input_ids = ids

        return Encoded()


def test_coinciding_verdict_first_tokens_are_a_clear_error():
    with pytest.raises(ModelError, match="coincide"):
        _verdict_token_ids(_SameFirstToken())
