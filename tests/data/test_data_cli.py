"""``libra-guard data ...`` commands through Typer's test runner."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from libra_guard.cli.data import app
from libra_guard.data.digest import read_digest
from libra_guard.data.io import read_rows
from libra_guard.data.schema import GuardRow
from tests.data.rows import make_row

runner = CliRunner()


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    """A root app that mounts the data commands the way ``libra_guard.cli.main`` does."""
    root = typer.Typer()
    root.add_typer(app, name="data")
    return root


def _flat(result: Result) -> str:
    """The command's output with line wrapping undone (rich wraps at the terminal width)."""
    return " ".join(result.output.split())


def _write_lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_validate_reports_kept_quarantined_reasons_and_digest(
    cli: typer.Typer, tmp_path: Path
) -> None:
    source = _write_lines(
        tmp_path / "raw.jsonl", [make_row(1), make_row(2, label="危险"), make_row(3), make_row(1)]
    )
    out = tmp_path / "clean.jsonl"

    result = runner.invoke(cli, ["data", "validate", str(source), "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "4 records read" in _flat(result)
    assert "2 kept" in _flat(result) and "2 quarantined" in _flat(result)
    assert "unknown label" in _flat(result) and "duplicate id" in _flat(result)
    assert "line 2: unknown label '危险'" in _flat(result)
    assert read_digest(out) in _flat(result)
    assert str(tmp_path / "clean.quarantine.jsonl") in _flat(result)


def test_validate_exits_2_on_unreadable_input(cli: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["data", "validate", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path / "o")]
    )

    assert result.exit_code == 2
    assert "no such file" in _flat(result)
    assert not (tmp_path / "o").exists()


def test_validate_rejects_a_non_positive_limit(cli: typer.Typer, tmp_path: Path) -> None:
    source = _write_lines(tmp_path / "raw.jsonl", [make_row(1)])

    result = runner.invoke(
        cli, ["data", "validate", str(source), "--out", str(tmp_path / "o"), "--max-chars", "0"]
    )

    assert result.exit_code == 2
    assert "--max-chars" in _flat(result)


def test_stats_json_and_tables(cli: typer.Typer, tmp_path: Path) -> None:
    source = _write_lines(
        tmp_path / "rows.jsonl", [make_row(1), make_row(2), make_row(3, source="Synthetic Data")]
    )

    as_json = runner.invoke(cli, ["data", "stats", str(source), "--json"])
    as_tables = runner.invoke(cli, ["data", "stats", str(source)])

    assert as_json.exit_code == 0, as_json.output
    stats = json.loads(as_json.output)
    assert stats["labels"] == {"安全": 2, "不安全": 1}
    assert stats["sources"] == {"Real Data": 2, "Synthetic Data": 1}
    assert as_tables.exit_code == 0, as_tables.output
    assert "Synthetic Data" in _flat(as_tables) and "66.7%" in _flat(as_tables)


def test_stats_exits_2_on_a_bad_row(cli: typer.Typer, tmp_path: Path) -> None:
    source = _write_lines(tmp_path / "rows.jsonl", [make_row(1), make_row(2, question=None)])

    result = runner.invoke(cli, ["data", "stats", str(source)])

    assert result.exit_code == 2
    assert "line 2: missing field 'question'" in _flat(result)


def test_split_writes_both_sides_with_digests(cli: typer.Typer, tmp_path: Path) -> None:
    rows = [make_row(i, question=f"问题{i // 2}") for i in range(20)]
    source = _write_lines(tmp_path / "rows.jsonl", rows)
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"

    result = runner.invoke(
        cli,
        [
            "data",
            "split",
            str(source),
            "--test-fraction",
            "0.2",
            "--seed",
            "3",
            "--train-out",
            str(train),
            "--test-out",
            str(test),
        ],
    )

    assert result.exit_code == 0, result.output
    train_rows, test_rows = read_rows(train), read_rows(test)
    assert (len(train_rows), len(test_rows)) == (16, 4)
    assert {r.question for r in train_rows}.isdisjoint({r.question for r in test_rows})
    assert read_digest(train) in _flat(result) and read_digest(test) in _flat(result)


def test_synth_writes_rows_digest_and_summary(cli: typer.Typer, tmp_path: Path) -> None:
    synth = pytest.importorskip("libra_guard.data.synth")
    if not hasattr(synth, "generate"):
        pytest.skip("libra_guard.data.synth.generate is not written yet")
    out = tmp_path / "synth.jsonl"

    result = runner.invoke(cli, ["data", "synth", "--n", "40", "--seed", "1", "--out", str(out)])

    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert rows and all(isinstance(row, GuardRow) for row in rows)
    assert read_digest(out) in _flat(result)
    for words in ("rows", "scenarios covered", "disagreements dropped", "question skeletons"):
        assert words in _flat(result)


def test_synth_command_wiring_with_a_stand_in_generator(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's own work (write, digest, summary) checked apart from the generator."""
    calls: list[tuple[int, int, bool, float]] = []

    def generate(
        n: int, seed: int, *, hard: bool = False, prompt_share: float = 0.0
    ) -> SimpleNamespace:
        calls.append((n, seed, hard, prompt_share))
        rows = [GuardRow(**make_row(i, category_name=f"场景{i % 3}")) for i in range(n)]
        return SimpleNamespace(
            rows=rows,
            disagreements_dropped=5,
            question_skeletons=11,
            answer_skeletons=13,
            prompt_rows=2,
        )

    monkeypatch.setitem(sys.modules, "libra_guard.data.synth", SimpleNamespace(generate=generate))
    out = tmp_path / "synth.jsonl"

    result = runner.invoke(
        cli, ["data", "synth", "--n", "6", "--seed", "9", "--hard", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert calls == [(6, 9, True, 0.2)]
    assert len(read_rows(out)) == 6
    text = _flat(result)
    assert read_digest(out) in text
    assert "scenarios covered │ 3" in text
    assert "disagreements dropped │ 5" in text
    assert "distinct question skeletons │ 11" in text
    assert "distinct answer skeletons │ 13" in text
    assert "prompt-task rows │ 2" in text


@pytest.mark.parametrize("command", ["validate", "synth", "stats", "split"])
def test_every_command_has_help(cli: typer.Typer, command: str) -> None:
    result = runner.invoke(cli, ["data", command, "--help"])

    assert result.exit_code == 0
    assert "Usage" in _flat(result)
