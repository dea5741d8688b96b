"""Prompt-task rows from the generator: the question's own harm label, a configured share, and
response rows that do not move; ``prepare_data`` puts them in every generated set."""

from __future__ import annotations

from pathlib import Path

import pytest

from libra_guard.data.io import read_rows
from libra_guard.data.preparation import DataConfig, prepare_data
from libra_guard.data.schema import SAFE, UNSAFE
from libra_guard.data.synth import SynthesisError, generate
from libra_guard.data.synth import generator as generator_module
from libra_guard.settings import Settings
from tests.data.rows import make_row


def test_prompt_rows_carry_the_harm_of_the_question_the_generator_drafted(monkeypatch) -> None:
    drafted: dict[str, bool] = {}
    real_draft = generator_module.draft_question

    def spy(*args, **kwargs):
        draft = real_draft(*args, **kwargs)
        drafted[draft.text] = draft.harmful
        return draft

    monkeypatch.setattr(generator_module, "draft_question", spy)
    result = generate(400, seed=5, prompt_share=0.25)
    prompts = result.rows[400:]
    assert result.prompt_rows == len(prompts) == 100
    assert all(row.task == "prompt" and row.response == "" for row in prompts)
    assert all(row.task == "response" for row in result.rows[:400])
    for row in prompts:
        assert row.label == (UNSAFE if drafted[row.question] else SAFE), row.question
        assert row.analyze and row.analyze.endswith("不安全。" if row.is_unsafe else "，安全。")
    assert {row.label for row in prompts} == {SAFE, UNSAFE}
    assert len({row.question for row in prompts}) == len(prompts)
    responded = {row.question for row in result.rows[:400]}
    assert {row.question for row in prompts} <= responded
    # The point of the task: a refused harmful request is a safe response, an unsafe prompt.
    refused = {row.question for row in result.rows[:400] if row.label == SAFE}
    assert any(row.question in refused for row in prompts if row.is_unsafe)


def test_response_rows_do_not_depend_on_the_prompt_share() -> None:
    plain = generate(300, seed=7).rows
    mixed = generate(300, seed=7, prompt_share=0.5).rows
    assert mixed[:300] == plain and len(mixed) == 450
    assert generate(300, seed=7, prompt_share=0.5).rows == mixed
    assert (
        generate(300, seed=7, hard=True, prompt_share=0.2)
        .rows[300]
        .id.startswith("synth-hard-7-prompt-")
    )


@pytest.mark.parametrize("bad", [-0.1, 0.6])
def test_a_share_out_of_range_is_refused(bad: float) -> None:
    with pytest.raises(SynthesisError, match="prompt_share"):
        generate(20, seed=0, prompt_share=bad)


def test_prepare_data_trains_and_tests_both_tasks_and_keeps_real_rows_as_responses(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text(
        "\n".join(__import__("json").dumps(make_row(i), ensure_ascii=False) for i in range(30)),
        encoding="utf-8",
    )
    config = DataConfig(
        stage1_rows=40, stage2_rows=20, test_rows_per_source=20, seed=3, real_data=str(real)
    )
    assert config.prompt_task_share == 0.2
    prepared = prepare_data(config, tmp_path / "data", Settings(state_dir=tmp_path / "s"), print)
    stage1, stage2, test = (read_rows(p) for p in (prepared.stage1, prepared.stage2, prepared.test))
    assert sum(row.task == "prompt" for row in stage1) == 8
    assert all(row.task == "response" for row in stage2)  # real data replaced the stand-in
    by_source_task = {(row.source, row.task) for row in test}
    assert ("synthetic", "prompt") in by_source_task
    assert ("synthetic-hard", "prompt") in by_source_task
    assert ("Real Data", "prompt") not in by_source_task

    none = DataConfig(stage1_rows=40, stage2_rows=20, test_rows_per_source=20, seed=3)
    none = none.model_copy(update={"prompt_task_share": 0.0})
    prepared = prepare_data(none, tmp_path / "none", Settings(state_dir=tmp_path / "s"), print)
    assert all(row.task == "response" for row in read_rows(prepared.stage2))
