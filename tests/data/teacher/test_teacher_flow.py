"""The whole teacher-synthesis flow against the scripted OpenAI-compatible stand-in server
(in-process engine; ``test_teacher_ray.py`` runs the same flow on Ray Data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from libra_guard.data.io import read_rows
from libra_guard.data.teacher import TeacherConfig, plan_requests, synthesize
from libra_guard.data.teacher.chat_client import EndpointError
from libra_guard.data.teacher.pipeline import STAGES, side_paths
from libra_guard.data.teacher.report import TEACHER_EXPERIMENT
from tests.data.teacher.conftest import config_values, endpoint
from tests.data.teacher.scripts import expected_label


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_scripted_run_keeps_only_agreed_rows_and_reports_every_drop(
    chat_server, teacher_config, tmp_path
):
    out = tmp_path / "stage1.jsonl"
    result = synthesize(teacher_config, 12, out, log=lambda _: None, mlflow=False)
    report = result.report
    paths = side_paths(out)

    # Every stage's output is kept on disk, and the report counts what each holds.
    for number, name in enumerate(STAGES, start=1):
        kept = _read_jsonl(paths["stages"] / f"{number:02d}-{name}.jsonl")
        assert len(kept) == report["stages"][name]["rows"]
        assert sum(report["stages"][name]["by_subcategory"].values()) == len(kept)
    assert report["stages"]["combinations"]["rows"] == 3  # ceil(12 / 4)
    assert len(report["stages"]["combinations"]["by_subcategory"]) == 39

    reasons = report["dropped_by_reason"]
    assert reasons["queries: generator reply is not JSON (expected an array of strings)"] == 1
    assert reasons["deduplicated: exact duplicate"] > 0
    assert reasons["deduplicated: near duplicate (MinHash)"] > 0
    assert reasons["agreed: judges disagree"] > 0
    assert any("judge-b: judge answer is not JSON" in reason for reason in reasons)
    dropped = _read_jsonl(paths["stages"] / "dropped.jsonl")
    assert len(dropped) == sum(reasons.values())
    # Paraphrases that only add a character never survive deduplication.
    unique = _read_jsonl(paths["stages"] / "04-deduplicated.jsonl")
    assert not [item for item in unique if item["augmentation"] == "paraphrase"]

    # Both answerers answered every unique query, despite 429s and timeouts on the flaky one.
    assert report["stages"]["answers"]["rows"] == 2 * len(unique)
    flaky = report["costs"]["answerer[1]"]
    assert flaky["http_attempts"] > flaky["requests"] == len(unique)

    rows = read_rows(out)
    assert len(rows) == report["agreement"]["kept"] > 0
    for row in rows:
        assert row.label == expected_label(row.response)
        assert row.source == teacher_config.source
    agreement = report["agreement"]
    judged = agreement["judged_answers"]
    assert agreement["dropped_share"] == pytest.approx((judged - len(rows)) / judged, abs=1e-4)
    assert json.loads(paths["report"].read_text(encoding="utf-8"))["digest"] == result.digest


def test_rerun_with_same_config_and_seed_sends_no_request(chat_server, teacher_config, tmp_path):
    out = tmp_path / "stage1.jsonl"
    first = synthesize(teacher_config, 8, out, log=lambda _: None, mlflow=False)
    calls = dict(chat_server.calls)
    second = synthesize(teacher_config, 8, out, log=lambda _: None, mlflow=False)
    assert dict(chat_server.calls) == calls
    assert second.digest == first.digest
    assert all(cost["requests"] == 0 for cost in second.report["costs"].values())


def test_killed_run_resumes_from_the_cache(chat_server, tmp_path, monkeypatch):
    # The second answerer's key is wrong: the run stops at the answers, after stages 1-4.
    monkeypatch.setenv("WRONG_KEY", "sk-wrong")
    broken = config_values(chat_server)
    broken["answerers"][1] = endpoint(chat_server, "answer-flaky", api_key_env="WRONG_KEY")
    out = tmp_path / "stage1.jsonl"
    with pytest.raises(EndpointError, match=r"refused the key \(HTTP 401.*WRONG_KEY"):
        synthesize(TeacherConfig.model_validate(broken), 8, out, log=lambda _: None, mlflow=False)
    assert (side_paths(out)["stages"] / "04-deduplicated.jsonl").is_file()
    assert not out.exists()
    before = dict(chat_server.calls)

    fixed = TeacherConfig.model_validate(config_values(chat_server))
    result = synthesize(fixed, 8, out, log=lambda _: None, mlflow=False)
    for model in ("gen", "rewriter", "answer-comply"):
        assert chat_server.calls[model] == before[model], model
    assert result.report["costs"]["generator"]["cached"] == 2
    assert read_rows(out)


def test_unreachable_endpoint_fails_with_the_url(chat_server, tmp_path):
    values = config_values(chat_server)
    values["generator"] = {
        **endpoint(chat_server, "gen"),
        "base_url": "http://127.0.0.1:9/v1",
        "max_retries": 1,
    }
    with pytest.raises(EndpointError, match=r"gen at http://127.0.0.1:9/v1 is unreachable"):
        synthesize(
            TeacherConfig.model_validate(values), 4, tmp_path / "o.jsonl", log=lambda _: None
        )


def test_unknown_model_fails_naming_base_url_and_model(chat_server, tmp_path):
    values = config_values(chat_server, generator=endpoint(chat_server, "no-such-model"))
    with pytest.raises(EndpointError, match=r"no-such-model.*answered 404"):
        synthesize(
            TeacherConfig.model_validate(values), 4, tmp_path / "o.jsonl", log=lambda _: None
        )


def test_dry_run_plan_counts_requests_per_role(teacher_config):
    plan = plan_requests(teacher_config, 1000)
    assert plan["queries"] == {"generator": 250}
    assert plan["augmented"] == {"rewriter": 3000}
    assert plan["answers"] == {"answerer[0]": 4000, "answerer[1]": 4000}
    assert plan["judged"] == {"judge[0]": 8000, "judge[1]": 8000}


def test_counts_go_to_mlflow(chat_server, teacher_config, tmp_path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = synthesize(
        teacher_config, 8, tmp_path / "o.jsonl", log=lambda _: None, tracking_uri=uri
    )
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(result.mlflow_run_id)
    assert client.get_experiment(run.info.experiment_id).name == TEACHER_EXPERIMENT
    metrics = run.data.metrics
    assert metrics["rows.agreed"] == len(result.rows)
    assert metrics["agreement.dropped_share"] == result.report["agreement"]["dropped_share"]
    assert metrics["cost.judge_1.requests"] == result.report["costs"]["judge[1]"]["requests"]
    assert sum(v for k, v in metrics.items() if k.startswith("kept_by_subcategory.")) == len(
        result.rows
    )
