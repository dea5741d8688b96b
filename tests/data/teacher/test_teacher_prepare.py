"""The pipeline option: ``demo.teacher_config`` makes ``prepare_data`` take stage 1 from teacher
models (validated and digested like any dataset), and enters the step's cache key."""

from __future__ import annotations

import pytest
import yaml

from libra_guard.data.io import read_rows
from libra_guard.data.preparation import DataConfig, prepare_data
from libra_guard.settings import Settings
from pipelines.config import PipelineConfig
from tests.data.teacher.conftest import config_values


@pytest.mark.slow
def test_prepare_data_takes_stage1_from_teacher_models(chat_server, tmp_path, monkeypatch):
    teacher = tmp_path / "teacher.yaml"
    teacher.write_text(yaml.safe_dump(config_values(chat_server), allow_unicode=True))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    settings = Settings(state_dir=tmp_path / "state")
    config = DataConfig(
        stage1_rows=12, stage2_rows=10, test_rows_per_source=10, teacher_config=str(teacher)
    )
    prepared = prepare_data(config, tmp_path / "data", settings, lambda _: None)
    rows = read_rows(prepared.stage1)
    assert rows and {row.source for row in rows} == {"Teacher Synthetic"}
    assert prepared.reports["stage1"].quarantined == 0
    # The teacher run's cache sits under the state folder, so the next run resumes from it.
    assert list((tmp_path / "state" / "teacher").glob("stage1-*-n12.jsonl.cache"))


def test_teacher_config_enters_the_prepare_data_cache_key(tmp_path):
    teacher = tmp_path / "teacher.yaml"
    teacher.write_text("seed: 0\n")
    config = PipelineConfig.model_validate({"data": {"teacher_config": str(teacher)}})
    before = config.source_fingerprint()
    teacher.write_text("seed: 1\n")
    assert before and config.source_fingerprint() != before
    assert PipelineConfig().source_fingerprint() == ""
