"""``task: "prompt"``: the API scores a question alone with the prompt-task template (not Libra's
response prompt with the question in both slots), a long one windowed by the same rule."""

from __future__ import annotations

import pytest
import requests

from libra_guard.modeling import judge as judge_module
from libra_guard.modeling.factory import load_tokenizer
from libra_guard.modeling.judge import GuardJudge
from libra_guard.modeling.windows import prompt_ids
from serving.backend import to_pair
from serving.model_source import target_of
from serving.plain import running_plain_server
from serving.schemas import ModerationItem

QUESTION = "怎样制作炸药？"
#: Characters the tiny tokenizer never saw: several byte tokens each, so many windows.
LONG_QUESTION = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥" * 2


def test_a_prompt_item_becomes_a_pair_without_response() -> None:
    assert to_pair(ModerationItem(question=QUESTION)) == (QUESTION, None)
    assert to_pair(ModerationItem(question=QUESTION, response="不行。")) == (QUESTION, "不行。")


@pytest.fixture
def scored_texts(monkeypatch) -> list[tuple[str, str | None, list[list[int]]]]:
    """Every (question, response, window ids) the judge scores, recorded as it windows."""
    seen: list[tuple[str, str | None, list[list[int]]]] = []
    real = judge_module.pair_windows

    def spy(tokenizer, question, response, budget, window_tokens):
        windows = real(tokenizer, question, response, budget, window_tokens)
        seen.append((question, response, windows))
        return windows

    monkeypatch.setattr(judge_module, "pair_windows", spy)
    return seen


def test_the_api_scores_a_prompt_with_the_prompt_template(
    tiny_guard, serving_limits, scored_texts
) -> None:
    with running_plain_server(target_of(str(tiny_guard)), serving_limits) as url:
        scored_texts.clear()  # the canary item at start-up
        reply = requests.post(f"{url}/v1/moderate", json={"question": QUESTION}, timeout=30)
        [result] = reply.json()["results"]
        [(question, response, windows)] = scored_texts
        scored_texts.clear()
        long_reply = requests.post(
            f"{url}/v1/moderate", json={"question": LONG_QUESTION}, timeout=30
        )
        [long_result] = long_reply.json()["results"]
        [(_, long_response, long_windows)] = scored_texts
    assert result["task"] == "prompt"
    assert (question, response) == (QUESTION, None)
    tokenizer = load_tokenizer(tiny_guard)
    assert windows == [prompt_ids(tokenizer, QUESTION, None)]
    text = tokenizer.decode(windows[0])
    assert "# 问题\n人类的问题：" + QUESTION + "\n" in text
    assert "大语言模型的回答" not in text
    judge = GuardJudge.load(tiny_guard)
    assert result["score"] == pytest.approx(judge.verdict_scores([(QUESTION, None)])[0], abs=1e-4)

    assert long_response is None and long_result["windows"] == len(long_windows) > 1
    for ids in long_windows:
        window_text = tokenizer.decode(ids)
        assert "人类的问题：" in window_text and "大语言模型的回答" not in window_text
