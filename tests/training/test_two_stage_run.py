"""A real two-stage run on Ray Train leaves a final model that every consumer loads."""

from __future__ import annotations

import json

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from libra_guard.modeling.judge import GuardJudge
from libra_guard.training.curve import TrainingCurve
from libra_guard.training.publish import PROVENANCE
from libra_guard.training.runner import train_guard
from tests.training.configs import small_config

pytestmark = pytest.mark.slow


def test_two_stages_leave_a_loadable_final_model(ray_address, synth_rows, tmp_path, monkeypatch):
    messages: list[str] = []
    digests = {"stage1": {"file_sha256": "a" * 64}, "stage2": {"file_sha256": "b" * 64}}
    outcome = train_guard(
        small_config(),
        synth_rows,
        synth_rows[:24],
        tmp_path / "out",
        data_digests=digests,
        log=messages.append,
    )
    final = tmp_path / "out" / "final"
    assert outcome.final_dir == final
    assert [stage.method for stage in outcome.stages] == ["full", "lora"]
    assert [stage.steps for stage in outcome.stages] == [8, 3]
    for name in ("stage1", "stage2"):
        assert (tmp_path / "out" / name / "config.json").is_file()
    # One curve point per optimizer step, with the warm-up visible in the learning rate.
    curve = TrainingCurve.load(tmp_path / "out" / "stage1").points
    assert [point.step for point in curve] == list(range(1, 9))
    assert curve[0].lr < curve[1].lr
    assert all(
        point.samples_per_s > 0 and point.tokens_per_s > point.samples_per_s for point in curve
    )
    assert (final / "adapter" / "adapter_config.json").is_file()

    provenance = json.loads((final / PROVENANCE).read_text(encoding="utf-8"))
    assert provenance["base_model"] == "tiny"
    assert provenance["data_digests"] == digests
    assert [stage["steps"] for stage in provenance["stages"]] == [8, 3]

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = AutoModelForCausalLM.from_pretrained(final)
    tokenizer = AutoTokenizer.from_pretrained(final)
    assert model.config.model_type == "qwen2"
    assert tokenizer.eos_token == "<|im_end|>"
    judge = GuardJudge.load(final)
    scores = judge.verdict_scores([(row.question, row.response) for row in synth_rows[:4]])
    assert all(0.0 <= score <= 1.0 for score in scores)

    messages.clear()
    again = train_guard(
        small_config(), synth_rows, synth_rows[:24], tmp_path / "out", log=messages.append
    )
    assert all(stage.skipped for stage in again.stages)
    assert any("stage1: already finished" in message for message in messages)
    assert any("stage2: already finished" in message for message in messages)


def test_a_stage_trains_from_an_s3_base(ray_address, synth_rows, tmp_path, s3_bucket, monkeypatch):
    from libra_guard.modeling.base_models import import_model
    from libra_guard.settings import Settings
    from libra_guard.training.runner import prepare_base, run_stage

    config = small_config(stage1=small_config().stage1.model_copy(update={"epochs": 0.25}))
    folder = prepare_base(config, synth_rows, tmp_path / "local", log=lambda _: None)
    uri = f"s3://{s3_bucket}/bases/micro"
    import_model(folder, uri, log=lambda _: None)
    monkeypatch.setenv("LIBRA_STATE_DIR", str(tmp_path / "state"))
    from_s3 = config.model_copy(update={"base": uri})
    outcome = run_stage(
        "stage1", from_s3, synth_rows, uri, tmp_path / "out", settings=Settings(),
        log=lambda _: None,
    )  # fmt: skip
    assert outcome.steps == 2
    cached = list((tmp_path / "state" / "models" / "bases").glob("micro-*/config.json"))
    assert len(cached) == 1  # downloaded once into this node's cache, then trained from
