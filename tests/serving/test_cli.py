"""``libra-guard moderate`` against a running API, and its error when nothing answers."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from libra_guard.cli.serve import moderate, serve
from serving.plain import free_port
from tests.serving.conftest import PAIRS


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("moderate")(moderate)
    app.command("serve")(serve)
    return app


def test_moderate_prints_verdict_score_and_model(plain_url: str) -> None:
    result = CliRunner().invoke(cli(), ["moderate", PAIRS[1][0], PAIRS[1][1], "--url", plain_url])
    assert result.exit_code == 0, result.output
    assert "P(不安全)=" in result.output and "task=response" in result.output
    assert "model=final vunregistered" in result.output
    prompt = CliRunner().invoke(cli(), ["moderate", "你好", "--url", plain_url, "--explain"])
    assert prompt.exit_code == 0 and "task=prompt" in prompt.output


def test_moderate_sends_the_api_key_from_the_environment(secured_url: str, monkeypatch) -> None:
    monkeypatch.delenv("LIBRA_API_KEY", raising=False)
    refused = CliRunner().invoke(cli(), ["moderate", "你好", "--url", secured_url])
    assert refused.exit_code == 2 and "401" in " ".join(refused.output.split())
    monkeypatch.setenv("LIBRA_API_KEY", "s3cret-key")
    assert CliRunner().invoke(cli(), ["moderate", "你好", "--url", secured_url]).exit_code == 0


def test_moderate_explains_an_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(cli(), ["moderate", "你好", "--url", url])
    output = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "no guard service answers" in output and "libra-guard serve" in output


def test_serve_refuses_a_folder_that_is_not_a_model(tmp_path) -> None:
    result = CliRunner().invoke(cli(), ["serve", "--model", str(tmp_path)])
    assert result.exit_code == 2 and "not a model folder" in " ".join(result.output.split())


def test_moderate_stream_prints_one_line_per_piece_and_the_final_verdict(plain_url: str) -> None:
    question, response = PAIRS[1][0], PAIRS[1][1]
    args = ["moderate", question, response, "--url", plain_url, "--stream", "--piece-chars", "5"]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == -(-len(response) // 5) + 1
    assert lines[-1].startswith("final") and "level=" in lines[-1]
    assert f"{len(response)} chars" in lines[-2]


def test_moderate_stream_reports_a_refused_stream(secured_url: str, monkeypatch) -> None:
    monkeypatch.delenv("LIBRA_API_KEY", raising=False)
    args = ["moderate", "问", "答", "--url", secured_url, "--stream"]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 2 and "unauthorized" in " ".join(result.output.split())
