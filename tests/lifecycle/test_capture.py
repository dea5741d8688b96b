"""Capture of served decisions: sampling near the threshold, day partitions on a local S3 API
(moto standing in for MinIO), the size cap, and the API key kept out of every record."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests

from libra_guard.lifecycle.capture import (
    CaptureConfig,
    CaptureSink,
    Decision,
    partition_size,
    read_captures,
)
from serving.config import ServingConfig
from serving.model_source import target_of
from serving.plain import running_plain_server
from tests.serving.conftest import LIMITS, PAIRS, tiny_guard  # noqa: F401 (fixture)

MODEL = {"name": "libra-guard", "version": "3"}
DAY = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def decision(score: float, question: str = "问", level: str | None = None) -> Decision:
    """A decision of an uncalibrated model (its level is its verdict) unless ``level``."""
    label = "不安全" if score >= 0.5 else "安全"
    verdict = "unsafe" if score >= 0.5 else "safe"
    return Decision(question, "答", "response", score, label, verdict, MODEL, level or verdict)


def test_only_items_near_the_threshold_are_kept_at_rate_zero(s3_bucket: str) -> None:
    uri = f"s3://{s3_bucket}/captures"
    config = CaptureConfig(uri=uri, rate=0.0, near_threshold_rate=1.0, flush_items=100)
    sink = CaptureSink(config, threshold=0.5)
    scores = [0.02, 0.45, 0.97, 0.58, 0.61, 0.3]
    sink.offer([decision(score, f"q{i}") for i, score in enumerate(scores)], now=DAY)
    sink.flush()
    records = list(read_captures(uri))
    assert [record["score"] for record in records] == [0.45, 0.58]
    # The record's level is the API's; near the threshold is the sampling band, apart.
    assert [record["level"] for record in records] == ["safe", "unsafe"]
    assert {record["near_threshold"] for record in records} == {True}
    assert records[0]["captured_at"].startswith("2026-11-30T09:30:00")
    assert records[0]["model"] == MODEL
    assert sink.stats.seen == 6 and sink.stats.written == 2
    assert partition_size(uri, "2026-11-30") > 0
    # The day filter reads only the days asked for.
    assert list(read_captures(uri, since=date(2026, 12, 1))) == []


def test_a_controversial_decision_counts_as_near_whatever_its_distance(tmp_path: Path) -> None:
    """A calibrated model's grey band can reach far from the serving threshold; its items are
    the doubtful ones, so they are sampled at the near-threshold rate."""
    config = CaptureConfig(uri=str(tmp_path), rate=0.0, near_threshold_rate=1.0)
    sink = CaptureSink(config, threshold=0.5)
    sink.offer(
        [decision(0.2, "q0", level="controversial"), decision(0.2, "q1"), decision(0.85, "q2")],
        now=DAY,
    )
    sink.flush()
    (record,) = list(read_captures(str(tmp_path)))
    assert (record["question"], record["level"], record["near_threshold"]) == (
        "q0",
        "controversial",
        True,
    )


def test_the_overall_rate_samples_a_share_of_clear_items(tmp_path: Path) -> None:
    config = CaptureConfig(uri=str(tmp_path), rate=0.25, near_threshold_rate=0.0, seed=7)
    sink = CaptureSink(config, threshold=0.5)
    sink.offer([decision(0.01) for _ in range(2000)], now=DAY)
    sink.flush()
    kept = len(list(read_captures(str(tmp_path))))
    assert 400 <= kept <= 600, kept  # binomial(2000, 0.25): mean 500, sd ~19


def test_a_partition_stops_growing_at_its_cap_even_after_a_restart(s3_bucket: str) -> None:
    uri = f"s3://{s3_bucket}/capped"
    config = CaptureConfig(uri=uri, rate=1.0, max_partition_bytes=2048, flush_items=10)
    for _ in range(2):  # the second sink is a restarted replica: it counts what is there
        sink = CaptureSink(config, threshold=0.5)
        sink.offer([decision(0.9, "问" * 40) for _ in range(30)], now=DAY)
        sink.flush()
    size = partition_size(uri, "2026-11-30")
    assert 1024 < size <= 2048
    assert sink.stats.written == 0 and sink.stats.dropped_over_cap == 30


def test_a_served_decision_is_captured_without_the_api_key(tiny_guard: Path, tmp_path) -> None:  # noqa: F811
    key = "s3cret-key-never-captured"
    # A buffer larger than the traffic: the record is written when the API shuts down.
    capture = CaptureConfig(uri=str(tmp_path / "cap"), rate=1.0, flush_items=1000)
    config = ServingConfig(**LIMITS, capture=capture)
    with running_plain_server(target_of(str(tiny_guard)), config, api_key=key) as url:
        question, response, _ = PAIRS[1]
        answer = requests.post(
            f"{url}/v1/moderate",
            json={"question": question, "response": response},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        refused = requests.post(f"{url}/v1/moderate", json={"question": "x"}, timeout=60)
        assert refused.status_code == 401
        assert not (tmp_path / "cap").exists()
    (record,) = list(read_captures(str(tmp_path / "cap")))
    assert (record["question"], record["response"]) == (question, response)
    result = answer.json()["results"][0]
    assert record["score"] == pytest.approx(result["score"], abs=1e-6)
    # One meaning of "level": the answer's own.
    assert record["level"] == result["level"]
    written = b"".join(path.read_bytes() for path in (tmp_path / "cap").rglob("*.jsonl"))
    assert key.encode() not in written and b"Bearer" not in written


def test_capture_is_off_by_default() -> None:
    assert ServingConfig().capture is None


def test_serve_capture_options_override_the_file_and_refuse_a_rate_alone() -> None:
    from libra_guard.cli.serve import with_capture
    from libra_guard.errors import ConfigError

    with pytest.raises(ConfigError, match="--capture-rate needs --capture"):
        with_capture(ServingConfig(), None, 0.2)
    configured = ServingConfig(capture=CaptureConfig(uri="s3://a/b", near_threshold_rate=0.9))
    updated = with_capture(configured, None, 0.0).capture
    assert (updated.uri, updated.rate, updated.near_threshold_rate) == ("s3://a/b", 0.0, 0.9)
    assert with_capture(ServingConfig(), "s3://c/d", None).capture.uri == "s3://c/d"
