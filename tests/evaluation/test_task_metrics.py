"""Each task scored on its own rows; the top level stays the response task (the headline)."""

from __future__ import annotations

import json

import pytest

from libra_guard.data.schema import SAFE as S
from libra_guard.data.schema import UNSAFE as U
from libra_guard.errors import DataError
from libra_guard.evaluation import evaluate_model, evaluate_predictions
from libra_guard.evaluation.metrics import compute_metrics, compute_task_metrics
from libra_guard.evaluation.report import tasks_table
from libra_guard.modeling.judge import WindowedScore
from tests.evaluation.rows import make_row


def _prompt_row(label: str, question: str, row_id: str):
    return make_row(label, question=question, row_id=row_id).model_copy(
        update={"task": "prompt", "response": ""}
    )


@pytest.fixture
def mixed():
    """Four response rows (3 right) and four prompt rows (1 right) with P(不安全) scripted."""
    responses = [make_row(label, row_id=f"r{i}") for i, label in enumerate((U, U, S, S))]
    prompts = [_prompt_row(label, f"q{i}", f"p{i}") for i, label in enumerate((U, U, S, S))]
    rows = [responses[0], prompts[0], responses[1], prompts[1], *responses[2:], *prompts[2:]]
    predicted = {"r0": U, "r1": U, "r2": S, "r3": U, "p0": U, "p1": S, "p2": U, "p3": U}
    return rows, [predicted[row.id] for row in rows]


def test_the_top_level_is_the_response_task_and_each_task_has_its_own(mixed):
    rows, predictions = mixed
    metrics = compute_task_metrics(rows, predictions)
    responses = [(r, p) for r, p in zip(rows, predictions, strict=True) if r.task == "response"]
    expected = compute_metrics([r for r, _ in responses], [p for _, p in responses])
    assert {k: v for k, v in metrics.items() if k != "by_task"} == expected
    assert metrics["average"]["accuracy"] == 0.75
    assert list(metrics["by_task"]) == ["response", "prompt"]
    assert metrics["by_task"]["response"] == expected
    assert metrics["by_task"]["prompt"]["average"]["accuracy"] == 0.25
    assert metrics["by_task"]["prompt"]["n"] == 4
    table = tasks_table(metrics)
    assert table is not None and table.row_count == 2


def test_a_set_of_response_rows_only_has_one_task_and_no_task_table(mixed):
    rows, predictions = mixed
    only = [(r, p) for r, p in zip(rows, predictions, strict=True) if r.task == "response"]
    metrics = compute_task_metrics([r for r, _ in only], [p for _, p in only])
    assert list(metrics["by_task"]) == ["response"]
    assert tasks_table(metrics) is None


def test_a_set_without_response_rows_is_refused(mixed, tmp_path):
    rows, predictions = mixed
    prompts = [(r, p) for r, p in zip(rows, predictions, strict=True) if r.task == "prompt"]
    with pytest.raises(ValueError, match="no response-task rows"):
        compute_task_metrics([r for r, _ in prompts], [p for _, p in prompts])
    with pytest.raises(DataError, match="no response-task rows"):
        evaluate_predictions(tmp_path / "none.jsonl", [r for r, _ in prompts], tmp_path / "out")


def test_scored_predictions_report_both_tasks_and_each_record_its_task(mixed, tmp_path):
    rows, predictions = mixed
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        "".join(
            json.dumps({"id": row.id, "critic": json.dumps({"答案": p}, ensure_ascii=False)}) + "\n"
            for row, p in zip(rows, predictions, strict=True)
        ),
        encoding="utf-8",
    )
    metrics = evaluate_predictions(answers, rows, tmp_path / "out")
    assert metrics["average"]["accuracy"] == 0.75
    assert metrics["by_task"]["prompt"]["average"]["accuracy"] == 0.25
    written = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert written["by_task"]["prompt"]["n"] == 4
    records = (tmp_path / "out" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["task"] for line in records] == [row.task for row in rows]


class PairRecorder:
    """Scores 0.9 for every pair and keeps the pairs it was given."""

    name = "recorder"

    def __init__(self) -> None:
        self.pairs: list[tuple[str, str | None]] = []

    def verdict_windows(self, pairs, batch_size: int = 16):
        self.pairs.extend(pairs)
        return [WindowedScore(0.9, 1) for _ in pairs]


def test_the_model_judges_a_prompt_row_with_the_prompt_template(mixed, tmp_path):
    rows, _ = mixed
    judge = PairRecorder()
    metrics = evaluate_model(judge, rows, tmp_path / "out", mode="verdict")
    assert judge.pairs == [row.pair for row in rows]
    assert [pair[1] for pair in judge.pairs if pair[0].startswith("q")] == [None] * 4
    assert (
        metrics["levels"]["safe"]["n"]
        + metrics["levels"]["unsafe"]["n"]
        + metrics["levels"]["controversial"]["n"]
        == 4
    )  # calibrated on the response rows only


def test_the_dashboard_headline_adds_each_other_tasks_figures(mixed, tmp_path):
    from libra_guard.steps.evaluate import Evaluation

    rows, predictions = mixed
    metrics = compute_task_metrics(rows, predictions, [0.9, 0.8, 0.7, 0.1, 0.2, 0.6, 0.3, 0.4])
    headline = Evaluation(tmp_path, metrics, None).headline
    assert headline["average_accuracy"] == 0.75 and headline["n"] == 4
    assert headline["prompt_task_average_accuracy"] == 0.25
    assert headline["prompt_task_n"] == 4
    assert "prompt_task_roc_auc" in headline
    assert not any(name.startswith("response_task") for name in headline)
