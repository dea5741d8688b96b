"""``evaluate_predictions`` end to end: answer files in the paper's shape to metrics and files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from matplotlib.image import imread

from libra_guard.data.schema import SAFE as S
from libra_guard.data.schema import UNSAFE as U
from libra_guard.errors import DataError
from libra_guard.evaluation import evaluate_predictions
from tests.evaluation.rows import make_row

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_jsonl(path: Path, records: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def rows():
    return [
        make_row(U, row_id="a", source="Real Data"),
        make_row(S, row_id="b", source="Real Data"),
        make_row(U, row_id="c", source="Synthetic Data", category="偏见歧视", sub="地域歧视"),
        make_row(S, row_id="d", source="Synthetic Data", category="偏见歧视", sub="地域歧视"),
    ]


@pytest.fixture
def answers():
    return [
        {"id": "a", "critic": '```json\n{"答案": "不安全", "分析": "x"}\n```'},
        {"id": "b", "critic": '{"答案": "不安全", "分析": "误判'},  # truncated, wrong
        {"id": "c", "critic": "我无法判断。"},  # unscorable -> wrong
        {"id": "d", "critic": "{'答案': '安全'}", "source": "ignored"},
    ]


def test_scores_a_predictions_file_and_writes_every_output(tmp_path, rows, answers) -> None:
    predictions = write_jsonl(tmp_path / "preds.jsonl", answers)
    out = tmp_path / "eval"

    metrics = evaluate_predictions(predictions, rows, out)

    written = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert written == metrics
    assert set(written) >= {
        "average",
        "by_source",
        "by_category",
        "by_subcategory",
        "confusion_matrix",
        "roc_auc",
        "n",
        "unparseable",
        "run",
    }
    assert written["by_source"]["Real Data"]["accuracy"] == 0.5
    assert written["by_source"]["Synthetic Data"]["accuracy"] == 0.5
    assert written["by_source"]["Synthetic Data"]["unparseable"] == 1
    assert written["unparseable"] == 1
    assert written["roc_auc"] is None
    assert written["run"]["missing"] == 0

    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "b", "c", "d"]
    assert [r["prediction"] for r in records] == [U, U, None, S]
    assert [r["correct"] for r in records] == [True, False, False, True]
    assert records[2]["critic"] == "我无法判断。"
    assert {"source", "category_name", "label"} <= set(records[0])

    for name in ("per_category_accuracy.png", "confusion_matrix.png"):
        png = out / name
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        assert imread(png).shape[0] > 100
    assert not list(out.glob("*.tmp")), "temporary files must be renamed away"


def test_reads_a_folder_of_shards_with_integer_ids(tmp_path, rows) -> None:
    rows = [make_row(U, row_id="1"), make_row(S, row_id="2")]
    shards = tmp_path / "preds"
    shards.mkdir()
    write_jsonl(shards / "0-of-2.jsonl", [{"id": 1, "critic": '{"答案": "不安全"}'}])
    write_jsonl(shards / "1-of-2.jsonl", [{"id": 2, "critic": '{"答案": "安全"}'}])
    metrics = evaluate_predictions(shards, rows, tmp_path / "eval")
    assert metrics["average"]["accuracy"] == 1.0


def test_prediction_for_an_unknown_id_is_an_error(tmp_path, rows, answers) -> None:
    predictions = write_jsonl(tmp_path / "p.jsonl", [*answers, {"id": "zz", "critic": "{}"}])
    with pytest.raises(DataError, match=r"1 prediction id\(s\) are not in the data.*'zz'"):
        evaluate_predictions(predictions, rows, tmp_path / "eval")
    metrics = evaluate_predictions(predictions, rows, tmp_path / "eval", allow_unknown=True)
    assert metrics["run"]["ignored_unknown_ids"] == 1
    assert metrics["n"] == 4


def test_data_rows_without_prediction_fail_unless_allowed_then_count_wrong(
    tmp_path, rows, answers
) -> None:
    perfect = [{"id": r.id, "critic": json.dumps({"答案": r.label})} for r in rows]
    predictions = write_jsonl(tmp_path / "p.jsonl", perfect[:3])
    with pytest.raises(DataError, match=r"1 of 4 data row\(s\) have no prediction.*'d'"):
        evaluate_predictions(predictions, rows, tmp_path / "eval")
    assert not (tmp_path / "eval" / "metrics.json").exists()

    metrics = evaluate_predictions(predictions, rows, tmp_path / "eval", allow_missing=True)
    assert metrics["run"]["missing"] == 1
    assert metrics["unparseable"] == 1
    assert metrics["by_source"]["Synthetic Data"]["accuracy"] == 0.5


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "a", "critic": "x"}', "{not json"], r"p\.jsonl:2: not valid JSON"),
        (['{"id": "a", "critic": "x"}', "", '{"id": "a", "critic": "y"}'], r":3: duplicate.*:1"),
        (['{"id": "a", "output": "x"}'], r":1: no 'critic' field.*output"),
        (['{"critic": "x"}'], r":1: missing or invalid 'id'"),
        (['["a", "x"]'], r":1: expected a JSON object"),
        (['{"id": "a", "critic": 3}'], r":1: 'critic' must be a string or null"),
    ],
)
def test_malformed_predictions_name_file_and_line(tmp_path, rows, lines, message) -> None:
    predictions = write_jsonl(tmp_path / "p.jsonl", lines)
    with pytest.raises(DataError, match=message):
        evaluate_predictions(predictions, rows, tmp_path / "eval")


def test_missing_predictions_path_is_a_data_error(tmp_path, rows) -> None:
    with pytest.raises(DataError, match="predictions not found"):
        evaluate_predictions(tmp_path / "nope.jsonl", rows, tmp_path / "eval")


def test_null_critic_counts_as_unscorable(tmp_path) -> None:
    rows = [make_row(U, row_id="x")]
    predictions = write_jsonl(tmp_path / "p.jsonl", [{"id": "x", "critic": None}])
    metrics = evaluate_predictions(predictions, rows, tmp_path / "eval")
    assert metrics["unparseable"] == 1
    assert metrics["average"]["accuracy"] == 0.0
