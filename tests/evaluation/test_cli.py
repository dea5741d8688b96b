"""``libra-guard eval`` through typer's runner, on a tiny app that mounts the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from libra_guard.cli.evaluate import evaluate
from libra_guard.data.schema import SAFE as S
from libra_guard.data.schema import UNSAFE as U
from tests.evaluation.rows import make_row

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("eval")(evaluate)
    app.command("noop", hidden=True)(lambda: None)  # keeps "eval" a named sub-command
    return app


@pytest.fixture
def data_file(tmp_path) -> Path:
    rows = [
        make_row(U, row_id="a", source="Real Data"),
        make_row(S, row_id="b", source="Real Data"),
        make_row(U, row_id="c", source="Translated Data"),
    ]
    path = tmp_path / "data.jsonl"
    lines = [json.dumps(row.to_json_dict(), ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def predictions_file(tmp_path) -> Path:
    answers = [
        {"id": "a", "critic": '{"答案": "不安全", "分析": "x"}'},
        {"id": "b", "critic": '{"答案": "不安全", "分析": "y"}'},
        {"id": "c", "critic": "garbled"},
    ]
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in answers), "utf-8")
    return path


@pytest.mark.parametrize("choice", [[], ["--model", "m", "--predictions", "p.jsonl"]])
def test_exactly_one_of_model_or_predictions(app, tmp_path, choice) -> None:
    result = runner.invoke(app, ["eval", "--data", "d.jsonl", "--out", str(tmp_path), *choice])
    assert result.exit_code == 2
    assert "exactly one of --model" in result.output


def test_scores_predictions_and_prints_the_table(app, tmp_path, data_file, predictions_file):
    pytest.importorskip("libra_guard.data.io")
    out = tmp_path / "eval"
    args = ["eval", "--data", str(data_file), "--out", str(out)]
    result = runner.invoke(app, [*args, "--predictions", str(predictions_file)])

    assert result.exit_code == 0, result.output
    # Real Data: 1 of 2 right (50.00); Translated: the garbled answer counts wrong (0.00).
    assert "Average" in result.output and "25.00" in result.output
    assert "1 of 3 answer(s) could not be scored" in result.output
    assert f"wrote {out / 'metrics.json'}" in result.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["average"]["accuracy"] == pytest.approx(0.25)


def test_limit_evaluates_the_first_rows_and_ignores_other_answers(
    app, tmp_path, data_file, predictions_file
):
    pytest.importorskip("libra_guard.data.io")
    out = tmp_path / "eval"
    args = ["eval", "--data", str(data_file), "--out", str(out), "--limit", "1"]
    result = runner.invoke(app, [*args, "--predictions", str(predictions_file)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n"] == 1
    assert metrics["average"]["accuracy"] == 1.0


def test_bad_predictions_file_prints_one_clear_line(app, tmp_path, data_file):
    pytest.importorskip("libra_guard.data.io")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "critic": "x"}\n{oops\n', encoding="utf-8")
    out = tmp_path / "eval"
    result = runner.invoke(
        app, ["eval", "--data", str(data_file), "--out", str(out), "--predictions", str(bad)]
    )
    assert result.exit_code == 2
    # rich wraps the message at the terminal width; the words are what matter.
    assert "bad.jsonl:2: not valid JSON" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists()


def test_mode_is_rejected_with_predictions(app, tmp_path, data_file, predictions_file):
    args = ["eval", "--data", str(data_file), "--out", str(tmp_path / "o")]
    result = runner.invoke(
        app, [*args, "--predictions", str(predictions_file), "--mode", "verdict"]
    )
    assert result.exit_code == 2
    assert "apply to --model only" in result.output
