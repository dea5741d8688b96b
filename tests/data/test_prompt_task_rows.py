"""Prompt-task rows: a question and the question's harm label, no response; old files load as
response rows and keep their bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from libra_guard.data.io import read_rows, write_jsonl
from libra_guard.data.row_checks import RowProblem, parse_row
from libra_guard.data.schema import GuardRow
from libra_guard.data.validate import validate_file
from tests.data.rows import make_row


def _prompt_row(index: int, **overrides) -> dict:
    return make_row(index, **{"response": None, "task": "prompt", **overrides})


def test_a_prompt_row_needs_no_response_and_judges_the_question_alone() -> None:
    row = parse_row(_prompt_row(1))
    assert row.task == "prompt"
    assert row.pair == (row.question, None)
    assert row.to_json_dict()["task"] == "prompt"
    assert "response" not in row.to_json_dict()
    assert parse_row(_prompt_row(2, response="")).pair[1] is None
    assert parse_row({**_prompt_row(3), "response": None}).task == "prompt"


def test_a_row_without_task_is_a_response_row_written_as_before() -> None:
    raw = make_row(1)
    row = parse_row(raw)
    assert row.task == "response"
    assert row.pair == (raw["question"], raw["response"])
    assert row.to_json_dict() == raw
    assert parse_row(make_row(2, task="response")).to_json_dict() == make_row(2)


@pytest.mark.parametrize(
    ("record", "kind", "reason"),
    [
        (make_row(1, task="answer"), "unknown task", "unknown task 'answer'"),
        (make_row(2, task="prompt"), "prompt row with response", "must not carry a response"),
        (_prompt_row(3, question=" "), "empty text", "empty text in 'question'"),
        (_prompt_row(4, label=None), "missing field", "missing field 'label'"),
        (make_row(5, response=None), "missing field", "missing field 'response'"),
    ],
)
def test_bad_task_rows_are_refused_with_a_reason(record: dict, kind: str, reason: str) -> None:
    with pytest.raises(RowProblem) as caught:
        parse_row(record)
    assert caught.value.kind == kind
    assert reason in caught.value.reason


def test_the_model_refuses_a_response_on_a_prompt_row_and_none_on_a_response_row() -> None:
    base = {key: value for key, value in make_row(1).items() if key != "response"}
    with pytest.raises(ValueError, match="no response"):
        GuardRow(**base, response="答", task="prompt")
    with pytest.raises(ValueError, match="non-empty response"):
        GuardRow(**base)


def test_validation_keeps_both_tasks_and_round_trips_them(tmp_path: Path) -> None:
    raw = tmp_path / "raw.jsonl"
    records = [make_row(1), _prompt_row(2), make_row(3, task="prompt")]
    raw.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", "utf-8")
    report = validate_file(raw, tmp_path / "clean.jsonl")
    assert (report.kept, report.quarantined) == (2, 1)
    rows = read_rows(tmp_path / "clean.jsonl")
    assert [row.task for row in rows] == ["response", "prompt"]
    again = write_jsonl(rows, tmp_path / "again.jsonl")
    assert Path(again).read_bytes() == (tmp_path / "clean.jsonl").read_bytes()


def test_stats_count_tasks_and_measure_responses_of_response_rows_only() -> None:
    from libra_guard.data.stats import dataset_stats

    rows = [parse_row(make_row(1, response="四个字呢")), parse_row(_prompt_row(2))]
    stats = dataset_stats(rows)
    assert stats["tasks"] == {"response": 1, "prompt": 1}
    assert stats["response_chars"]["min"] == stats["response_chars"]["max"] == 4
