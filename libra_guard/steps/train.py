"""Steps ``pretrain_guard`` and ``finetune_guard``: one curriculum stage each.

Both key their work by a hash of (stage, config, dataset digests, the stage's input model),
so a retried step resumes from its own checkpoints and a changed input starts afresh; both
publish the stage's model folder atomically and then discard the work. ``stage_key`` and the
stage record (``runner.read_stage_outcome``) are shared, not copied per component.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from libra_guard.atomic import staged_folder
from libra_guard.data.io import read_rows
from libra_guard.settings import Settings
from libra_guard.training.cluster_stage import discard_stage_work, step_log, train_stage
from libra_guard.training.config import StageName, TrainConfig
from libra_guard.training.curriculum import stage2_inputs
from libra_guard.training.publish import StageOutcome, publish_final, read_stage_outcome
from libra_guard.training.runner import prepare_base


def stage_key(stage: StageName, config: TrainConfig, digests: dict[str, str], *inputs: str) -> str:
    """The work key of a stage: the same inputs give the same key (and resume its work)."""
    payload = [stage, config.model_dump(mode="json"), digests, *inputs]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def pretrain(
    config: TrainConfig,
    stage1_data: str | Path,
    stage2_data: str | Path,
    digests: dict[str, str],
    out: str | Path,
    settings: Settings,
) -> StageOutcome:
    """Stage 1 on the synthetic rows from the base (built from both sets' text if a preset);
    the stage's model folder is published at ``out``."""
    key = stage_key("stage1", config, digests)
    work = (settings.state_dir / "stage-work" / key).resolve()
    rows1, rows2 = read_rows(stage1_data), read_rows(stage2_data)
    source = prepare_base(config, [*rows1, *rows2], work, step_log)
    outcome = train_stage("stage1", config, rows1, source, work, key=key, settings=settings)
    with staged_folder(Path(out)) as staging:
        shutil.copytree(outcome.model_dir, staging, dirs_exist_ok=True)
    discard_stage_work(work, key, settings)
    return outcome


def finetune(
    config: TrainConfig,
    stage1_data: str | Path,
    stage2_data: str | Path,
    stage1_model: str | Path,
    stage1_model_uri: str,
    digests: dict[str, str],
    out: str | Path,
    settings: Settings,
) -> StageOutcome:
    """Stage 2 on the real rows (with replay and validation holdout as configured) from the
    stage-1 model; the final model folder with its provenance is published at ``out``."""
    key = stage_key("stage2", config, digests, stage1_model_uri)
    work = (settings.state_dir / "stage-work" / key).resolve()
    stage1 = read_stage_outcome(Path(stage1_model))
    needs_stage1 = config.stage2_replay > 0 or config.stage2_validation > 0
    rows, validation = stage2_inputs(
        read_rows(stage2_data), read_rows(stage1_data) if needs_stage1 else [], config, print
    )
    stage2 = train_stage(
        "stage2",
        config,
        rows,
        str(stage1_model),
        work,
        key=key,
        settings=settings,
        validation=validation or None,
    )
    publish_final(config, (stage1, stage2), Path(out), digests)
    discard_stage_work(work, key, settings)
    return stage2
