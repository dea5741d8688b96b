"""The pipeline and registry commands, through the real ``libra-guard`` app."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from libra_guard.cli.main import app
from libra_guard.cli.registry import mlflow_ui_command
from pipelines.libra_guard_pipeline import COMPILED_YAML

runner = CliRunner()


def test_compile_writes_the_pipeline(tmp_path: Path) -> None:
    out = tmp_path / "pipeline.yaml"
    result = runner.invoke(app, ["compile", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == COMPILED_YAML.read_text(encoding="utf-8")


def test_submit_to_an_unreachable_host_is_a_clear_error() -> None:
    result = runner.invoke(app, ["submit", "--host", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot submit to the KFP backend at http://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output


def test_submit_rejects_a_host_that_is_no_url() -> None:
    result = runner.invoke(app, ["submit", "--host", "localhost:8080"])
    assert result.exit_code == 2
    assert "http(s) URL" in result.output


def test_lineage_of_an_unknown_version_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    result = runner.invoke(app, ["lineage", "7"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_ui_serves_the_tracking_store() -> None:
    command = mlflow_ui_command("sqlite:////tmp/x/mlflow.db", "127.0.0.1", 5123)
    assert command[1:4] == ["ui", "--backend-store-uri", "sqlite:////tmp/x/mlflow.db"]
    assert command[-4:] == ["--host", "127.0.0.1", "--port", "5123"]
    assert "--default-artifact-root" in command
