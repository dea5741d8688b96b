"""``libra-guard data synth-llm``: the dry run on the shipped example config, a scripted run,
and a refused key turned into a one-line error."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from libra_guard.cli.main import app
from tests.data.teacher.conftest import config_values, endpoint

EXAMPLE = Path(__file__).resolve().parents[3] / "configs" / "teacher.yaml"
runner = CliRunner()


def test_dry_run_of_the_example_config_counts_requests_and_sends_none(tmp_path):
    out = tmp_path / "stage1.jsonl"
    result = runner.invoke(
        app,
        [
            "data",
            "synth-llm",
            "--config",
            str(EXAMPLE),
            "--n",
            "1000",
            "--out",
            str(out),
            "--dry-run",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    # 200 generator, 3000 rewriter, 2 x 4000 answerer, 2 x 8000 judge requests.
    assert re.search(r"all\W+27200", result.output), result.output
    assert "deepseek-chat" in result.output
    assert not out.exists() and not Path(f"{out}.cache").exists()


def test_scripted_run_writes_rows_and_report(chat_server, tmp_path):
    config = tmp_path / "teacher.yaml"
    config.write_text(yaml.safe_dump(config_values(chat_server), allow_unicode=True))
    out = tmp_path / "stage1.jsonl"
    result = runner.invoke(
        app,
        ["data", "synth-llm", "-c", str(config), "--n", "4", "-o", str(out), "--no-mlflow"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "agreement filter:" in result.output
    assert out.is_file() and Path(f"{out}.report.json").is_file()


def test_refused_key_is_a_one_line_error(chat_server, tmp_path, monkeypatch):
    monkeypatch.setenv("BAD_KEY", "sk-nope")
    values = config_values(
        chat_server, generator=endpoint(chat_server, "gen", api_key_env="BAD_KEY")
    )
    config = tmp_path / "teacher.yaml"
    config.write_text(yaml.safe_dump(values, allow_unicode=True))
    result = runner.invoke(
        app,
        [
            "data",
            "synth-llm",
            "-c",
            str(config),
            "--n",
            "4",
            "-o",
            str(tmp_path / "o.jsonl"),
            "--no-mlflow",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 2
    assert "refused the key (HTTP 401" in result.output
    assert "Traceback" not in result.output
