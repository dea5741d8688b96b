"""The two-stage curriculum as two Ray Train runs: synthetic pretraining, real fine-tuning.

``train_guard`` prepares the base (for a built preset, ``tiny`` or ``small``: a tokenizer
trained on the corpus and a random-init Qwen2 model), runs stage 1 on the synthetic rows and
stage 2 on the real rows starting from stage 1's weights, and writes ``OUT/stage1``,
``OUT/stage2`` and ``OUT/final`` (the model plus ``libra_guard.json`` provenance). Every folder
is written under a temporary name and renamed, so a folder that exists is complete: running
the same command again skips finished stages and resumes an unfinished one from its last checkpoint.

Usage (the CLI wraps this)::

    libra-guard train --stage1 synth.jsonl --stage2 real.jsonl --out runs/guard       # 1 worker
    libra-guard train ... --workers 2                                                 # DDP, CPU
    LIBRA_RAY_ADDRESS=ray://head:10001 libra-guard train ... --workers 8 --use-gpu    # cluster
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from libra_guard.atomic import staged_folder
from libra_guard.data.schema import GuardRow
from libra_guard.data.split import split_by_question
from libra_guard.errors import ModelError
from libra_guard.modeling.factory import build_tiny_base
from libra_guard.modeling.features import training_target
from libra_guard.modeling.presets import is_preset
from libra_guard.modeling.prompt import build_user_message
from libra_guard.settings import Settings
from libra_guard.training.checkpoint import MODEL_DIR
from libra_guard.training.config import StageName, TrainConfig
from libra_guard.training.loop import train_stage_per_worker
from libra_guard.training.ray_runtime import ensure_ray
from libra_guard.training.storage import checkpoint_storage

STAGE_INFO = "libra_guard_stage.json"
PROVENANCE = "libra_guard.json"


@dataclass(frozen=True)
class StageOutcome:
    """What one stage produced."""

    name: str
    method: str
    rows: int
    model_dir: str
    steps: int
    final_loss: float
    samples_per_s: float
    seconds: float
    resumed_from_step: int
    skipped: bool = False
    best_step: int | None = None
    best_val_accuracy: float | None = None


def read_stage_outcome(stage_dir: Path, *, skipped: bool = False) -> StageOutcome:
    """The ``StageOutcome`` recorded in a published stage folder (its ``STAGE_INFO``).

    Raises:
        ModelError: the folder holds no readable stage record.
    """
    try:
        info = json.loads((Path(stage_dir) / STAGE_INFO).read_text(encoding="utf-8"))
        return StageOutcome(
            **{**info, "model_dir": str(Path(stage_dir).resolve()), "skipped": skipped}
        )
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{Path(stage_dir) / STAGE_INFO} is not a stage record: {exc}") from exc


@dataclass(frozen=True)
class TrainingOutcome:
    """The final model folder and the two stages behind it."""

    final_dir: Path
    stages: tuple[StageOutcome, ...]


def train_guard(
    config: TrainConfig,
    stage1_rows: Sequence[GuardRow],
    stage2_rows: Sequence[GuardRow],
    out_dir: Path,
    *,
    settings: Settings | None = None,
    data_digests: dict | None = None,
    log=print,
) -> TrainingOutcome:
    """Run both stages and write ``out_dir/final``; resumes or skips what an earlier run did.

    Raises:
        ModelError: the base cannot be built or loaded, or training fails on a worker.
    """
    settings = settings or Settings()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _start_ray(settings)
    source = _prepare_base(config, [*stage1_rows, *stage2_rows], out_dir, log)
    stage1 = _run_stage("stage1", config, stage1_rows, source, out_dir, settings, log)
    stage2_mix, validation = stage2_inputs(stage2_rows, stage1_rows, config, log)
    stage2 = _run_stage(
        "stage2",
        config,
        stage2_mix,
        stage1.model_dir,
        out_dir,
        settings,
        log,
        validation=validation,
    )
    final_dir = publish_final(config, (stage1, stage2), out_dir / "final", data_digests)
    log(f"final model written to {final_dir}")
    return TrainingOutcome(final_dir=final_dir, stages=(stage1, stage2))


def prepare_base(config: TrainConfig, rows: Sequence[GuardRow], out_dir: Path, log=print) -> str:
    """The model source of stage 1: ``config.base``, or for a built preset a base built from
    ``rows`` (tokenizer and random-init weights) in ``out_dir/base`` and reused if present."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _prepare_base(config, rows, out_dir, log)


def run_stage(
    name: StageName,
    config: TrainConfig,
    rows: Sequence[GuardRow],
    source: str,
    out_dir: Path,
    *,
    settings: Settings | None = None,
    validation: Mapping[str, Sequence[GuardRow]] | None = None,
    log=print,
) -> StageOutcome:
    """Train one stage on its own (a pipeline step per stage) from ``source`` into
    ``out_dir/<name>``; joins ``LIBRA_RAY_ADDRESS`` or starts a local head. With
    ``validation`` rows (named sets, see ``validation_holdout``) the stage keeps the weights
    with the best validation accuracy instead of the last ones.

    Raises:
        ModelError: no rows, or training fails on a worker.
    """
    settings = settings or Settings()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _start_ray(settings)
    return _run_stage(name, config, rows, source, out_dir, settings, log, validation=validation)


def publish_final(
    config: TrainConfig,
    stages: Sequence[StageOutcome],
    final_dir: Path,
    data_digests: dict | None = None,
) -> Path:
    """Copy the last stage's model to ``final_dir`` with ``libra_guard.json`` provenance."""
    final_dir = Path(final_dir)
    provenance = {
        "base_model": config.base,
        "preset": config.base if is_preset(config.base) else None,
        "stages": [asdict(stage) for stage in stages],
        "data_digests": data_digests or {},
        "config": config.model_dump(mode="json"),
        "versions": _versions(),
    }
    _publish(Path(stages[-1].model_dir), final_dir, {PROVENANCE: provenance})
    return final_dir


def _start_ray(settings: Settings) -> None:
    # Ray Train V2 copies worker prints into its log AND the console (each line twice);
    # propagated to the workers by Ray Train.
    os.environ.setdefault("RAY_TRAIN_ENABLE_PRINT_PATCH", "0")
    ensure_ray(settings)


def with_replay(
    rows: Sequence[GuardRow], earlier: Sequence[GuardRow], fraction: float, seed: int
) -> list[GuardRow]:
    """``rows`` plus a seeded sample of ``earlier`` rows, ``fraction`` times as many as ``rows``
    (capped at all of ``earlier``), shuffled together so every batch mixes both."""
    count = min(len(earlier), round(fraction * len(rows)))
    if count == 0:
        return list(rows)
    rng = random.Random(seed)
    mixed = [*rows, *rng.sample(list(earlier), count)]
    rng.shuffle(mixed)
    return mixed


@dataclass(frozen=True)
class Holdout:
    """Stage 2's training rows, the stage-1 rows replay may draw from, and validation sets."""

    rows: list[GuardRow]
    replay_pool: list[GuardRow]
    validation: dict[str, list[GuardRow]]


def validation_holdout(
    rows: Sequence[GuardRow], earlier: Sequence[GuardRow], config: TrainConfig
) -> Holdout:
    """Hold ``config.stage2_validation`` of the stage-2 questions out of training (split by
    question, so no question is on both sides) as the ``stage2`` validation set.

    With replay on, as many stage-1 rows as that set holds (at most half of them) leave the
    replay pool and form the ``stage1`` set: they were seen in stage 1, so they measure
    forgetting rather than generalisation, which is what rehearsal is there to prevent.
    Off (the default): every row trains and no validation set exists.
    """
    if config.stage2_validation <= 0 or not rows:
        return Holdout(list(rows), list(earlier), {})
    train, held = split_by_question(rows, config.stage2_validation, config.seed + 1)
    if not held or not train:
        return Holdout(list(rows), list(earlier), {})
    validation = {"stage2": held}
    pool = list(earlier)
    if config.stage2_replay > 0 and pool:
        picked = set(
            random.Random(config.seed + 2).sample(range(len(pool)), min(len(held), len(pool) // 2))
        )
        validation["stage1"] = [row for i, row in enumerate(pool) if i in picked]
        pool = [row for i, row in enumerate(pool) if i not in picked]
    return Holdout(train, pool, validation)


def stage2_inputs(
    stage2_rows: Sequence[GuardRow], stage1_rows: Sequence[GuardRow], config: TrainConfig, log=print
) -> tuple[list[GuardRow], dict[str, list[GuardRow]]]:
    """Stage 2's training rows (validation questions held out, stage-1 replay mixed in) and
    its validation sets, as ``libra-guard train`` and the pipeline's ``finetune_guard`` use
    them; says what it held out and mixed in."""
    holdout = validation_holdout(stage2_rows, stage1_rows, config)
    if holdout.validation:
        sizes = ", ".join(f"{len(rows)} {name}" for name, rows in holdout.validation.items())
        log(f"stage2: validation rows held out of training to pick the best weights: {sizes}")
    mix = with_replay(holdout.rows, holdout.replay_pool, config.stage2_replay, config.seed)
    if len(mix) > len(holdout.rows):
        log(f"stage2: {len(mix) - len(holdout.rows)} stage-1 rows mixed in (replay)")
    return mix, holdout.validation


def guard_corpus(rows: Sequence[GuardRow]) -> Iterator[str]:
    """The tokenizer's corpus: each row's Libra user message (template included, so the
    template's frequent phrases become single tokens) and its target answer."""
    for row in rows:
        yield "user\n" + build_user_message(row.question, row.response)
        yield "assistant\n" + training_target(row)


def stage_loop_config(
    name: StageName,
    config: TrainConfig,
    rows: Sequence[GuardRow],
    source: str,
    validation: Mapping[str, Sequence[GuardRow]] | None = None,
) -> dict:
    """The ``train_loop_config`` handed to every worker of one stage."""
    stage = config.stage(name)
    return {
        "stage": name,
        "model_source": source,
        "rows": [row.to_json_dict() for row in rows],
        "method": config.method(name),
        "lora": config.lora.model_dump(mode="json"),
        "epochs": stage.epochs,
        "learning_rate": stage.learning_rate,
        "batch_size": stage.batch_size,
        "warmup_steps": stage.warmup_steps,
        "weight_decay": stage.weight_decay,
        "checkpoint_every": stage.checkpoint_every,
        "max_length": config.max_length,
        "seed": config.seed,
        "threads": config.threads_per_worker,
        "report_every": config.report_every,
        "validation": {
            set_name: [row.to_json_dict() for row in set_rows]
            for set_name, set_rows in (validation or {}).items()
            if set_rows
        },
        "evals_per_epoch": stage.evals_per_epoch,
        "prompt_loss_weight": stage.prompt_loss_weight,
    }


def _prepare_base(config: TrainConfig, rows: Sequence[GuardRow], out_dir: Path, log) -> str:
    if not is_preset(config.base):
        return config.base
    base_dir = out_dir / "base"
    if (base_dir / "config.json").is_file():
        log(f"reusing the {config.base} base (tokenizer and initial weights) in {base_dir}")
        return str(base_dir.resolve())
    started = time.perf_counter()
    build_tiny_base(guard_corpus(rows), config.preset_dims(), base_dir)
    log(f"built the {config.base} base in {base_dir} ({time.perf_counter() - started:.1f}s)")
    return str(base_dir.resolve())


def _run_stage(
    name: StageName,
    config: TrainConfig,
    rows: Sequence[GuardRow],
    source: str,
    out_dir: Path,
    settings: Settings,
    log,
    validation: Mapping[str, Sequence[GuardRow]] | None = None,
) -> StageOutcome:
    from ray.train import CheckpointConfig, FailureConfig, LoggingConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    stage_dir = out_dir / name
    info_file = stage_dir / STAGE_INFO
    if info_file.is_file():
        log(f"{name}: already finished in {stage_dir}, skipping")
        info = json.loads(info_file.read_text(encoding="utf-8"))
        return StageOutcome(**{**info, "skipped": True})
    if not rows:
        raise ModelError(f"{name} has no training rows; pass a non-empty data file")
    storage = checkpoint_storage(config.storage_path, out_dir, name, settings)
    if storage.has_snapshot():
        log(f"{name}: resuming from the last checkpoint in {storage.display}")
    else:
        log(f"{name}: training {config.method(name)} on {len(rows)} rows from {source}")
    trainer = TorchTrainer(
        train_stage_per_worker,
        train_loop_config=stage_loop_config(name, config, rows, source, validation),
        scaling_config=ScalingConfig(num_workers=config.num_workers, use_gpu=config.use_gpu),
        run_config=RunConfig(
            name=storage.run_name,
            storage_path=storage.path,
            storage_filesystem=storage.filesystem,
            failure_config=FailureConfig(max_failures=config.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
            # Ray Train logs every report at INFO; our progress lines say what matters.
            logging_config=LoggingConfig(log_level="WARNING"),
        ),
    )
    started = time.perf_counter()
    result = _fit(trainer, name)
    seconds = time.perf_counter() - started
    metrics = result.metrics or {}
    outcome = StageOutcome(
        name=name,
        method=config.method(name),
        rows=len(rows),
        model_dir=str(stage_dir.resolve()),
        steps=int(metrics.get("step", 0)),
        final_loss=float(metrics.get("loss", float("nan"))),
        samples_per_s=float(metrics.get("mean_samples_per_s", 0.0)),
        seconds=round(seconds, 1),
        resumed_from_step=int(metrics.get("resumed_from_step", 0)),
        best_step=_optional_int(metrics.get("best_step")),
        best_val_accuracy=_optional_float(metrics.get("best_val_accuracy")),
    )
    with result.checkpoint.as_directory() as folder:
        _publish(Path(folder) / MODEL_DIR, stage_dir, {STAGE_INFO: asdict(outcome)})
    if outcome.best_step is not None:
        log(
            f"{name}: kept the weights of step {outcome.best_step} "
            f"(validation accuracy {outcome.best_val_accuracy:.4f})"
        )
    log(
        f"{name}: done in {seconds:.0f}s, {outcome.steps} steps, loss {outcome.final_loss:.4f}, "
        f"{outcome.samples_per_s:.1f} samples/s -> {stage_dir}"
    )
    return outcome


def _optional_int(value) -> int | None:
    return None if value is None else int(value)


def _optional_float(value) -> float | None:
    return None if value is None else float(value)


def _fit(trainer, name: str):
    from ray.train import TrainingFailedError

    try:
        result = trainer.fit()
    except TrainingFailedError as exc:
        raise ModelError(f"{name} training failed: {exc}") from exc
    if result.checkpoint is None:
        raise ModelError(f"{name} finished without a checkpoint; see the worker log above")
    return result


def _publish(source: Path, target: Path, extra_json: dict[str, dict]) -> None:
    """Copy the model folder ``source`` to ``target`` with extra JSON files, atomically."""
    with staged_folder(target) as staging:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        for file_name, content in extra_json.items():
            (staging / file_name).write_text(
                json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8"
            )


def _versions() -> dict[str, str]:
    import peft
    import ray
    import torch
    import transformers

    import libra_guard

    return {
        "libra_guard": libra_guard.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "ray": ray.__version__,
    }
