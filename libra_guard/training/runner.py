"""The two-stage curriculum as two Ray Train runs: synthetic pretraining, real fine-tuning.

``train_guard`` prepares the base (for a built preset, ``tiny`` or ``small``: a tokenizer
trained on the corpus and a random-init Qwen2 model), runs stage 1 on the synthetic rows and
stage 2 on the real rows starting from stage 1's weights, and writes ``OUT/stage1``,
``OUT/stage2`` and ``OUT/final`` (the model plus ``libra_guard.json`` provenance). Every folder
is written under a temporary name and renamed, so a folder that exists is complete: running
the same command again skips finished stages and resumes an unfinished one from its last checkpoint,
but only when the stage's run key (``run_key.py``: settings, data digest, starting model) is the
same; otherwise it stops with the reason, and ``restart=True`` (``--restart``) starts fresh.

This module is the Ray wiring (one ``TorchTrainer`` per stage); the curriculum's data rules
(validation holdout, replay) are ``curriculum``, publishing and the stage record are
``publish``, and what the workers receive is ``loop_config.StageLoopConfig``.

Usage (the CLI wraps this)::

    libra-guard train --stage1 synth.jsonl --stage2 real.jsonl --out runs/guard       # 1 worker
    libra-guard train ... --workers 2                                                 # DDP, CPU
    LIBRA_RAY_ADDRESS=ray://head:10001 libra-guard train ... --workers 8 --use-gpu    # cluster
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from libra_guard.data.schema import GuardRow
from libra_guard.errors import ModelError
from libra_guard.modeling.base_models import is_s3, s3_worker_env
from libra_guard.modeling.factory import build_tiny_base
from libra_guard.modeling.features import training_target
from libra_guard.modeling.presets import is_preset
from libra_guard.modeling.prompt import build_user_message
from libra_guard.settings import Settings
from libra_guard.training.checkpoint import MODEL_DIR
from libra_guard.training.config import StageName, TrainConfig
from libra_guard.training.curriculum import stage2_inputs
from libra_guard.training.curve import CURVE_FILE, TrainingCurve
from libra_guard.training.loop import train_stage_per_worker
from libra_guard.training.loop_config import stage_loop_config
from libra_guard.training.publish import (
    STAGE_INFO,
    StageOutcome,
    publish_final,
    publish_model,
    read_stage_outcome,
)
from libra_guard.training.ray_runtime import ensure_ray
from libra_guard.training.run_key import (
    base_run_key,
    checkpoint_key,
    discard_checkpoints,
    discard_outputs,
    ensure_same_run,
    record_checkpoint_key,
    recorded_key,
    stage_run_key,
    write_key_file,
)
from libra_guard.training.storage import checkpoint_storage


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
    restart: bool = False,
    log=print,
) -> TrainingOutcome:
    """Run both stages and write ``out_dir/final``; resumes or skips what an earlier run did
    with the same run keys; ``restart`` first discards every earlier output and checkpoint.

    Raises:
        RunMismatchError: earlier work in ``out_dir`` came from other inputs (and no restart).
        ModelError: the base cannot be built or loaded, or training fails on a worker.
    """
    config.require_engine_support()
    settings = settings or Settings()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if restart:
        _discard_earlier_work(config, out_dir, settings, log)
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
    return _run_stage(name, config, rows, source, out_dir, settings, log, validation=validation)


def _start_ray(settings: Settings) -> None:
    # Ray Train V2 copies worker prints into its log AND the console (each line twice);
    # propagated to the workers by Ray Train.
    os.environ.setdefault("RAY_TRAIN_ENABLE_PRINT_PATCH", "0")
    ensure_ray(settings)


def guard_corpus(rows: Sequence[GuardRow]) -> Iterator[str]:
    """The tokenizer's corpus: each row's Libra user message (template included, so the
    template's frequent phrases become single tokens) and its target answer."""
    for row in rows:
        yield "user\n" + build_user_message(*row.pair)
        yield "assistant\n" + training_target(row)


def _prepare_base(config: TrainConfig, rows: Sequence[GuardRow], out_dir: Path, log) -> str:
    if not is_preset(config.base):
        return config.base
    base_dir = out_dir / "base"
    key = base_run_key(
        config.base, config.preset_dims().model_dump(), (row.to_json_dict() for row in rows)
    )
    if (base_dir / "config.json").is_file():
        ensure_same_run(recorded_key(base_dir), key, what=f"the {config.base} base in {base_dir}")
        log(f"reusing the {config.base} base (tokenizer and initial weights) in {base_dir}")
        return str(base_dir.resolve())
    started = time.perf_counter()
    build_tiny_base(guard_corpus(rows), config.preset_dims(), base_dir)
    write_key_file(base_dir, key)
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

    config.require_engine_support()
    stage_dir = out_dir / name
    info_file = stage_dir / STAGE_INFO
    loop_config = stage_loop_config(name, config, rows, source, validation, settings).to_loop_dict()
    key = stage_run_key(name, loop_config, source)
    if info_file.is_file():
        ensure_same_run(recorded_key(stage_dir), key, what=f"the finished {name} in {stage_dir}")
        log(f"{name}: already finished in {stage_dir}, skipping")
        return read_stage_outcome(stage_dir, skipped=True)
    if not rows:
        raise ModelError(f"{name} has no training rows; pass a non-empty data file")
    storage = checkpoint_storage(config.storage_path, out_dir, name, settings)
    start_step = 0
    if storage.has_snapshot():
        where = f"the {name} checkpoints in {storage.display}"
        ensure_same_run(checkpoint_key(storage), key, what=where)
        start_step = storage.latest_step()
        log(f"{name}: resuming from the last checkpoint in {storage.display}")
    else:
        record_checkpoint_key(storage, key)
        log(f"{name}: training {config.method(name)} on {len(rows)} rows from {source}")
    # Only now: a stage that is skipped or refused above needs no Ray cluster.
    _start_ray(settings)
    trainer = TorchTrainer(
        _worker_function(config),
        train_loop_config=loop_config,
        scaling_config=ScalingConfig(num_workers=config.num_workers, use_gpu=config.use_gpu),
        run_config=RunConfig(
            name=storage.run_name,
            storage_path=storage.path,
            storage_filesystem=storage.filesystem,
            failure_config=FailureConfig(max_failures=config.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
            # Ray Train logs every report at INFO; our progress lines say what matters.
            logging_config=LoggingConfig(log_level="WARNING"),
            worker_runtime_env=({"env_vars": s3_worker_env(settings)} if is_s3(source) else None),
        ),
    )
    started = time.perf_counter()
    result = _fit(trainer, name, config.max_failures)
    seconds = time.perf_counter() - started
    metrics = result.metrics or {}
    recovered = _recovery_line(name, metrics, start_step, config.max_failures)
    if recovered:
        log(recovered)
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
        run_key=key,
        engine=str(metrics.get("engine", "native")),
        sharding=str(metrics.get("sharding", "none")),
    )
    with result.checkpoint.as_directory() as folder:
        curve = json.loads(TrainingCurve.load(Path(folder)).to_json())
        publish_model(
            Path(folder) / MODEL_DIR, stage_dir, {STAGE_INFO: asdict(outcome), CURVE_FILE: curve}
        )
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


def _worker_function(config: TrainConfig):
    """The per-worker training function of the configured engine (``loop`` or ``hf_engine``)."""
    if config.engine == "hf":
        from libra_guard.training.hf_engine import train_stage_hf_per_worker

        return train_stage_hf_per_worker
    return train_stage_per_worker


def _discard_earlier_work(config: TrainConfig, out_dir: Path, settings: Settings, log) -> None:
    """``--restart``: remove the base, stage and final folders and both stages' checkpoints."""
    removed = discard_outputs(out_dir, ("base", "stage1", "stage2", "final"))
    for name in ("stage1", "stage2"):
        if discard_checkpoints(checkpoint_storage(config.storage_path, out_dir, name, settings)):
            removed.append(f"{name} checkpoints")
    log(f"restart: discarded {', '.join(removed) or 'nothing (no earlier work)'} in {out_dir}")


def _optional_int(value) -> int | None:
    return None if value is None else int(value)


def _optional_float(value) -> float | None:
    return None if value is None else float(value)


def _recovery_line(name: str, metrics: Mapping, start_step: int, max_failures: int) -> str:
    """One line when Ray Train had to restart the stage's workers during this run: the last
    attempt then resumed from a checkpoint written after the stage (re)started here."""
    resumed = int(metrics.get("resumed_from_step", 0))
    if resumed <= start_step:
        return ""
    return (
        f"{name}: recovered from a lost or failed worker: Ray Train restarted the workers and "
        f"they resumed from the checkpoint at step {resumed} of {int(metrics.get('step', 0))} "
        f"(retries allowed: max_failures={max_failures})"
    )


def _fit(trainer, name: str, max_failures: int):
    from ray.train import TrainingFailedError

    try:
        result = trainer.fit()
    except TrainingFailedError as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ModelError(
            f"{name} training failed after {max_failures} restart(s) of its workers "
            f"(max_failures): {first_line}; rerun the same command to resume from the last "
            "checkpoint"
        ) from exc
    if result.checkpoint is None:
        raise ModelError(f"{name} finished without a checkpoint; see the worker log above")
    return result
