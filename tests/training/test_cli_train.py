"""``libra-guard train`` documents its options and turns user errors into one line."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from libra_guard.cli.train import train

app = typer.Typer()
app.command()(train)


def test_help_lists_every_option():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in (
        "--stage1", "--stage2", "--out", "--preset", "--workers", "--use-gpu", "--config",
        "--epochs1", "--epochs2", "--max-length",
    ):  # fmt: skip
        assert option in result.output


def test_invalid_config_exits_2_with_the_file_named(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("stage1: {epochs: zero}\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["--stage1", "a.jsonl", "--stage2", "b.jsonl", "--out", str(tmp_path / "o"),
         "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "broken.yaml" in result.output


def test_missing_data_file_exits_2(tmp_path):
    result = CliRunner().invoke(
        app,
        ["--stage1", str(tmp_path / "absent.jsonl"), "--stage2", str(tmp_path / "b.jsonl"),
         "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "absent.jsonl" in result.output
