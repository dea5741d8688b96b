"""A captured prompt item goes to review as a prompt-task row: the question, no response."""

from __future__ import annotations

from libra_guard.data.row_checks import parse_row
from libra_guard.lifecycle.feedback import review_row

CAPTURED = {
    "question": "这句话本身有害吗？",
    "score": 0.51,
    "label": "不安全",
    "captured_at": "2026-11-29T08:00:00+00:00",
}


def test_a_reviewed_prompt_capture_imports_as_a_prompt_row() -> None:
    row = review_row({**CAPTURED, "response": None, "task": "prompt"})
    assert "response" not in row and row["task"] == "prompt"
    reviewed = parse_row({**row, "label": "安全"})
    assert reviewed.task == "prompt" and reviewed.pair == (CAPTURED["question"], None)


def test_a_reviewed_response_capture_stays_a_response_row() -> None:
    row = review_row({**CAPTURED, "response": "是的。", "task": "response"})
    reviewed = parse_row({**row, "label": "安全"})
    assert reviewed.task == "response" and reviewed.pair == (CAPTURED["question"], "是的。")
