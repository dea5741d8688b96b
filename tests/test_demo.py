"""One full tiny run of the embedded default on Ray: synth -> validate -> train -> evaluate."""

from __future__ import annotations

import json

import pytest
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from libra_guard.cli.main import app
from tests.training.configs import small_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory) -> str:
    train = small_config().model_dump(mode="json")
    config = {
        "data": {"seed": 5, "stage1_rows": 96, "stage2_rows": 48, "test_rows_per_source": 24},
        "train": train,
    }
    path = tmp_path_factory.mktemp("config") / "demo.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_demo_runs_the_whole_flow_and_resumes(ray_address, demo_config, tmp_path) -> None:
    out = tmp_path / "demo"
    runner = CliRunner()

    first = runner.invoke(app, ["demo", "--config", demo_config, "--out", str(out)])
    assert first.exit_code == 0, first.output

    test_text = (out / "data" / "test.jsonl").read_text(encoding="utf-8")
    test_rows = [json.loads(line) for line in test_text.splitlines()]
    responses = [row for row in test_rows if row.get("task", "response") == "response"]
    metrics = json.loads((out / "eval" / "metrics.json").read_text(encoding="utf-8"))
    # The headline is the response task; the prompt-task rows are scored on their own.
    assert metrics["n"] == len(responses)
    assert metrics["by_task"]["prompt"]["n"] == len(test_rows) - len(responses) > 0
    assert set(metrics["by_source"]) == {"synthetic", "synthetic-hard"}
    for figure in ("accuracy", "f1_safe", "f1_unsafe"):
        assert 0.0 <= metrics["average"][figure] <= 1.0
    for name in ("stage1", "stage2", "test"):
        assert (out / "data" / f"{name}.jsonl.sha256").is_file()
    assert (out / "eval" / "confusion_matrix.png").stat().st_size > 0
    assert "Average" in first.output

    final = out / "model" / "final"
    model = AutoModelForCausalLM.from_pretrained(final)
    tokenizer = AutoTokenizer.from_pretrained(final)
    assert model.config.model_type == "qwen2"
    assert tokenizer.apply_chat_template(
        [{"role": "user", "content": "你好"}], tokenize=False, add_generation_prompt=True
    ).endswith("assistant\n")

    second = runner.invoke(app, ["demo", "--config", demo_config, "--out", str(out)])
    assert second.exit_code == 0, second.output
    assert "stage1: already finished" in second.output
    assert "stage2: already finished" in second.output


def test_demo_rejects_a_bad_config_with_a_message(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  stage1_rows: -3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--config", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "stage1_rows" in result.output


def test_demo_names_the_new_place_of_a_flat_setting(tmp_path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("seed: 3\neval_mode: generate\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--config", str(old), "--out", str(tmp_path)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())  # rich wraps the message at the terminal width
    assert "seed -> data.seed" in said
    assert "eval_mode -> eval.mode" in said
