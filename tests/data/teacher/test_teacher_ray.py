"""The scripted teacher run on Ray Data (``map_batches`` actors on the session's Ray head)
gives the same rows as the in-process engine: one code path, two engines."""

from __future__ import annotations

import pytest

from libra_guard.data.teacher import TeacherConfig, synthesize
from tests.data.teacher.conftest import config_values

pytestmark = pytest.mark.slow


def test_ray_data_engine_matches_in_process_engine(ray_address, chat_server, tmp_path):
    values = config_values(chat_server, batch_size=4)
    on_ray = synthesize(
        TeacherConfig.model_validate({**values, "engine": "ray"}),
        4,
        tmp_path / "ray" / "stage1.jsonl",
        log=lambda _: None,
        mlflow=False,
    )
    calls_after_ray = dict(chat_server.calls)
    # A separate output folder: its cache is empty, so every request is sent again.
    local = synthesize(
        TeacherConfig.model_validate({**values, "engine": "local"}),
        4,
        tmp_path / "local" / "stage1.jsonl",
        log=lambda _: None,
        mlflow=False,
    )
    assert on_ray.rows, "the scripted run keeps some rows"
    assert on_ray.digest == local.digest
    assert on_ray.report["stages"] == local.report["stages"]
    assert calls_after_ray["judge-b"] == on_ray.report["costs"]["judge[1]"]["requests"]
