"""Both stages train both tasks: prompt-task rows reach the workers as prompt rows (through the
loop config's JSON) and the corpus of the tiny tokenizer holds the prompt template too."""

from __future__ import annotations

import pytest

from libra_guard.data.synth import generate
from libra_guard.training.loop_config import StageLoopConfig, stage_loop_config
from libra_guard.training.runner import guard_corpus
from tests.training.configs import small_config


@pytest.mark.parametrize("stage", ["stage1", "stage2"])
def test_prompt_rows_reach_the_workers_as_prompt_rows(stage: str, tmp_path) -> None:
    rows = generate(30, seed=2, hard=stage == "stage2", prompt_share=0.2).rows
    config = stage_loop_config(stage, small_config(), rows, str(tmp_path / "base"))
    on_worker = StageLoopConfig.model_validate(config.to_loop_dict())
    assert on_worker.rows == list(rows)
    assert [row.task for row in on_worker.rows].count("prompt") == 6
    assert all(row.pair[1] is None for row in on_worker.rows if row.task == "prompt")


def test_the_tokenizer_corpus_holds_both_templates() -> None:
    rows = generate(20, seed=2, prompt_share=0.5).rows
    corpus = list(guard_corpus(rows))
    prompts = [text for text in corpus if text.startswith("user\n")]
    assert sum("# 问题\n人类的问题：" in text for text in prompts) == 10
    assert sum("大语言模型的回答：" in text for text in prompts) == 20
