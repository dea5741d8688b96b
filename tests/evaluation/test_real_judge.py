"""The runner with the real ``GuardJudge`` on a tiny random Qwen2 model, and on real data."""

from __future__ import annotations

import json

import pytest

from libra_guard.data.schema import SAFE as S
from libra_guard.data.schema import UNSAFE as U
from libra_guard.evaluation import evaluate_model, evaluate_predictions
from libra_guard.modeling.answer import format_answer
from tests.evaluation.rows import make_row
from tests.tiny import MICRO_DIMS


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    factory = pytest.importorskip("libra_guard.modeling.factory")
    corpus = [format_answer(label, "回答提供了有害的方法。") for label in (S, U)] * 20
    corpus += ["人类的问题：怎么办？大语言模型的回答：这是回答。"] * 20
    return factory.build_tiny_base(corpus, MICRO_DIMS, tmp_path_factory.mktemp("tiny") / "base")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["generate", "verdict"])
def test_real_judge_runs_both_modes_end_to_end(tmp_path, tiny_model_dir, mode) -> None:
    rows = [make_row(U), make_row(S), make_row(U, source="Synthetic Data")]
    metrics = evaluate_model(
        str(tiny_model_dir), rows, tmp_path, mode=mode, batch_size=2, max_new_tokens=8
    )
    records = [
        json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()
    ]
    assert [r["id"] for r in records] == [row.id for row in rows]
    assert all(isinstance(r["critic"], str) for r in records)
    assert metrics["n"] == 3
    if mode == "verdict":
        assert all(0.0 <= r["score"] <= 1.0 for r in records)
        assert metrics["unparseable"] == 0
        assert metrics["roc_auc"] is not None


def test_perfect_answers_on_real_data_score_one(tmp_path, jade_medium_path) -> None:
    io = pytest.importorskip("libra_guard.data.io")
    rows = io.read_rows(str(jade_medium_path))
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        "".join(
            json.dumps({"id": row.id, "critic": format_answer(row.label, "x")}, ensure_ascii=False)
            + "\n"
            for row in rows
        ),
        encoding="utf-8",
    )
    metrics = evaluate_predictions(answers, rows, tmp_path / "eval")
    assert metrics["n"] == 1000
    assert metrics["average"] == {"accuracy": 1.0, "f1_safe": 1.0, "f1_unsafe": 1.0}
    assert metrics["confusion_matrix"]["matrix"] == [[500, 0], [0, 500]]
    assert (tmp_path / "eval" / "per_category_accuracy.png").stat().st_size > 1000
