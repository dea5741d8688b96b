"""Feedback round trip: capture on a local S3 API -> export for review -> a reviewer labels some
rows -> import (unlabelled rows quarantined, digest written) -> the pipeline's prepare_data step
takes the feedback as an extra real source -> register_guard registers a version whose lineage
names the source and its digest (and ``/v1/model`` shows them without the location)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from kfp.dsl import Artifact, Dataset, Model
from typer.testing import CliRunner

from components.prepare_data import prepare_data
from components.register_guard import register_guard
from libra_guard.cli.main import app
from libra_guard.data.digest import read_digest
from libra_guard.data.io import read_rows
from libra_guard.lifecycle.capture import CaptureConfig, CaptureSink, Decision
from libra_guard.tracking import registry, runs
from serving.schemas import ModelDescription, PublicModel
from tests.components.conftest import (  # noqa: F401 (fixture)
    artifact,
    tracking_uri,
    write_passed_decision,
)
from tests.serving.conftest import tiny_guard  # noqa: F401 (fixture)

MODEL = {"name": "libra-guard", "version": "4"}
SIZES = {"stage1_rows": 40, "stage2_rows": 20, "test_rows_per_source": 10, "seed": 3}
DAY = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def captured(uri: str) -> None:
    sink = CaptureSink(CaptureConfig(uri=uri, rate=1.0, flush_items=1000), threshold=0.5)
    decisions = [
        Decision(f"如何处理第{i}号可疑转账？", f"第{i}号回答：请联系银行核实。", "response",
                 score, "不安全" if score >= 0.5 else "安全",
                 "unsafe" if score >= 0.5 else "safe", MODEL,
                 "unsafe" if score >= 0.5 else "safe")
        for i, score in enumerate([0.05, 0.48, 0.52, 0.93, 0.55, 0.41, 0.12, 0.57, 0.46, 0.5])
    ]  # fmt: skip
    sink.offer(decisions, now=DAY)
    sink.offer(
        [Decision("这句话本身有害吗？", None, "prompt", 0.51, "不安全", "unsafe", MODEL, "unsafe")]
    )
    sink.flush()


def register(guard: Path, test_data: Dataset, root: Path) -> str:
    """``register_guard`` after a passed gate, as the pipeline's pass branch runs it."""
    parent = runs.start_pipeline_run("feedback-run", experiment="feedback-lineage")
    decision = artifact(Artifact, root / "decision")
    write_passed_decision(decision.path, root / "report.md")
    model = artifact(Model, root / "guard_model")
    model.uri = model.path = str(guard)  # the finetuned folder the step hands over
    return register_guard.python_func(
        guard_model=model, test_data=test_data, decision=decision, parent_run_id=parent
    ).version


def test_export_label_import_then_the_registered_version_names_the_source(
    s3_bucket: str,
    tmp_path: Path,
    tiny_guard: Path,  # noqa: F811
    tracking_uri: str,  # noqa: F811
) -> None:
    uri = f"s3://{s3_bucket}/captures"
    captured(uri)
    review = tmp_path / "review.jsonl"
    runner = CliRunner()
    exported = runner.invoke(
        app, ["feedback", "export", uri, "--out", str(review), "--until", "2026-11-29",
              "--near-threshold"],
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in review.read_text(encoding="utf-8").splitlines()]
    # Near-threshold items of 2026-11-29 only, most doubtful first, label left empty.
    assert [row["guard_score"] for row in rows] == [0.5, 0.48, 0.52, 0.46, 0.55, 0.57, 0.41]
    assert {row["label"] for row in rows} == {""}
    assert all(row["guard_model"] == MODEL and row["source"] == "Feedback" for row in rows)

    # The reviewer labels all but the last row.
    for row in rows[:-1]:
        row["label"] = "不安全" if row["guard_score"] >= 0.5 else "安全"
        row["category_name"] = "违法犯罪"
    review.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    source = f"s3://{s3_bucket}/feedback/2026-11-29.jsonl"
    imported = runner.invoke(app, ["feedback", "import", str(review), "--out", source])
    assert imported.exit_code == 0, imported.output
    assert "6 rows kept, 1 quarantined" in imported.output
    kept = read_rows(source)
    assert len(kept) == 6 and kept[0].model_extra["guard_score"] == 0.5
    digest = read_digest(source)

    # The pipeline step: feedback, read from the store, as an extra real-data source for
    # stage 2 and the test set.
    outputs = [artifact(Dataset, tmp_path / name) for name in ("s1", "s2", "t")]
    quarantine = artifact(Artifact, tmp_path / "quarantine")
    prepare_data.python_func({**SIZES, "extra_real_data": [source]}, *outputs, quarantine)
    stage2, test = read_rows(outputs[1].path), read_rows(outputs[2].path)
    feedback_ids = {row.id for row in kept}
    placed = [row.id for row in [*stage2, *test] if row.id in feedback_ids]
    assert sorted(placed) == sorted(feedback_ids)
    assert outputs[1].metadata["sources"] == {source: digest}
    assert outputs[2].metadata["sources"] == {source: digest}

    # The new version's lineage in the registry names the feedback source and its digest.
    version = register(tiny_guard, outputs[2], tmp_path / "register")
    lineage = registry.describe(version, tracking_uri=tracking_uri).lineage
    assert lineage["data_sources"] == {source: digest}
    assert lineage["dataset_digests"]["test"] == outputs[2].metadata["sha256"]
    # /v1/model shows the source by name and digest, never its bucket.
    public = PublicModel.of(
        ModelDescription(name="libra-guard", version=version, source="x", lineage=lineage)
    )
    assert public.lineage["data_sources"] == [{"name": "2026-11-29.jsonl", "sha256": digest}]
    assert s3_bucket not in json.dumps(public.lineage)


def test_import_of_an_unlabelled_export_fails_and_keeps_the_quarantine(tmp_path: Path) -> None:
    uri = str(tmp_path / "captures")
    captured(uri)
    review = tmp_path / "review.jsonl"
    assert CliRunner().invoke(app, ["feedback", "export", uri, "-o", str(review)]).exit_code == 0
    out = tmp_path / "feedback.jsonl"
    result = CliRunner().invoke(app, ["feedback", "import", str(review), "-o", str(out)])
    assert result.exit_code == 2
    assert "no row" in result.output and "安全 or 不安全" in result.output
    quarantine = tmp_path / "feedback.quarantine.jsonl"
    assert len(quarantine.read_text(encoding="utf-8").splitlines()) == 11
