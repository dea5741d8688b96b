"""Training that never mixes runs: finished stages and checkpoints are reused only by a run
with the same settings, data and starting model; ``--restart`` starts fresh; two outputs of
the same name never share checkpoints under one storage path."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from libra_guard.settings import Settings
from libra_guard.training.run_key import (
    RunMismatchError,
    record_checkpoint_key,
    stage_run_key,
)
from libra_guard.training.runner import (
    STAGE_INFO,
    StageOutcome,
    run_stage,
    stage_loop_config,
    train_guard,
)
from libra_guard.training.storage import SNAPSHOT_FILE, checkpoint_storage
from tests.training.configs import small_config

SOURCE = "org/some-base"  # never loaded: every case here stops before training


def _finished(out: Path, name: str, run_key: str | None) -> None:
    """A stage folder as an earlier run left it (``run_key=None``: before keys existed)."""
    outcome = StageOutcome(name, "full", 8, str(out / name), 4, 0.5, 9.0, 1.0, 0)
    info = asdict(outcome)
    info.pop("run_key")
    if run_key is not None:
        info["run_key"] = run_key
    (out / name).mkdir(parents=True)
    (out / name / STAGE_INFO).write_text(json.dumps(info), encoding="utf-8")


def test_the_key_follows_data_settings_and_base_but_not_display_settings(synth_rows):
    config = small_config()

    def key(rows=synth_rows, cfg=config, source=SOURCE):
        return stage_run_key(
            "stage1", stage_loop_config("stage1", cfg, rows, source).to_loop_dict(), source
        )

    assert key() == key()
    assert key(rows=synth_rows[:-1]) != key()
    assert key(cfg=config.model_copy(update={"seed": 1})) != key()
    assert key(source="org/other-base") != key()
    assert key(cfg=config.model_copy(update={"report_every": 7, "threads_per_worker": 3})) == key()


def test_a_finished_stage_from_other_data_is_refused_not_skipped(synth_rows, tmp_path):
    config = small_config()
    old = stage_run_key(
        "stage1",
        stage_loop_config("stage1", config, synth_rows[:32], SOURCE).to_loop_dict(),
        SOURCE,
    )
    _finished(tmp_path, "stage1", old)
    with pytest.raises(RunMismatchError, match="trained from other data, settings or base"):
        run_stage("stage1", config, synth_rows, SOURCE, tmp_path)
    # the same inputs as then: skipped, as before
    outcome = run_stage("stage1", config, synth_rows[:32], SOURCE, tmp_path)
    assert outcome.skipped and outcome.run_key == old


def test_a_finished_stage_without_key_is_refused(synth_rows, tmp_path):
    _finished(tmp_path, "stage1", None)
    with pytest.raises(RunMismatchError, match=r"records no run key.*--restart"):
        run_stage("stage1", small_config(), synth_rows, SOURCE, tmp_path)


def test_checkpoints_of_another_run_are_not_resumed(synth_rows, tmp_path):
    config = small_config()
    storage = checkpoint_storage(None, tmp_path, "stage1", Settings())
    record_checkpoint_key(storage, "0" * 64)
    Path(storage.path, storage.run_name, SNAPSHOT_FILE).write_text("{}", encoding="utf-8")
    with pytest.raises(RunMismatchError, match=r"stage1 checkpoints in .* other data"):
        run_stage("stage1", config, synth_rows, SOURCE, tmp_path)


def test_restart_discards_earlier_stages_and_checkpoints(synth_rows, tmp_path):
    config = small_config(base=SOURCE)
    _finished(tmp_path, "stage1", "1" * 64)
    _finished(tmp_path, "stage2", "2" * 64)
    storage = checkpoint_storage(None, tmp_path, "stage2", Settings())
    record_checkpoint_key(storage, "2" * 64)
    lines: list[str] = []
    # no stage-1 rows: it stops right after the restart, before any training
    with pytest.raises(Exception, match="stage1 has no training rows"):
        train_guard(config, [], synth_rows, tmp_path, restart=True, log=lines.append)
    assert not (tmp_path / "stage1").exists() and not (tmp_path / "stage2").exists()
    assert not Path(storage.path, storage.run_name).exists()
    assert lines[0].startswith("restart: discarded stage1, stage2, stage2 checkpoints in ")


def test_outputs_of_the_same_name_never_share_checkpoints(tmp_path):
    shared = str(tmp_path / "shared")
    first = checkpoint_storage(shared, tmp_path / "a" / "guard", "stage1", Settings())
    second = checkpoint_storage(shared, tmp_path / "b" / "guard", "stage1", Settings())
    assert first.path == second.path
    assert first.run_name != second.run_name
    assert first.run_name.startswith("guard-") and first.run_name.endswith("-stage1")
    again = checkpoint_storage(shared, tmp_path / "a" / "guard", "stage1", Settings())
    assert again.run_name == first.run_name  # a rerun of the same folder resumes
