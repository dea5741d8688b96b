"""Where a pipeline step trains its stage: here on Ray (``LIBRA_TRAINING_BACKEND=local``) or
as a KubeRay RayJob in the cluster (``rayjob``). The mode is configuration; both run the same
``run_stage`` and give the step the same ``StageOutcome`` with a local model folder.

In cluster mode the step (this module) and the job (``stage_job``) meet in object storage,
under ``{LIBRA_ARTIFACT_ROOT}/stage-work/{key}/`` (layout in ``stage_spec``):

1. upload the rows, the starting model when it is a folder, and the spec (written last);
2. create the RayJob (named from the key: a retried step adopts its job), follow it to the end
   with its log streamed into this step's log, delete it (``libra_guard.kube.follow``);
3. download the model into the step's work folder.

A model already complete in storage (an earlier attempt finished the job but not the step) is
downloaded without running anything. ``discard_stage_work`` removes the prefix, checkpoints
included, once the step has published the model, as the local mode removes its work folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from libra_guard.data.io import write_jsonl
from libra_guard.data.schema import GuardRow
from libra_guard.errors import ConfigError, DataError, ModelError
from libra_guard.kube.follow import RayJobError, RayJobRunner
from libra_guard.kube.rayjob import build_rayjob, rayjob_name
from libra_guard.kube.wiring import RayJobPods
from libra_guard.settings import Settings
from libra_guard.signals import sigterm_raises
from libra_guard.training.config import StageName, TrainConfig
from libra_guard.training.publish import STAGE_INFO, StageOutcome, read_stage_outcome
from libra_guard.training.runner import run_stage
from libra_guard.training.stage_spec import (
    StageSpec,
    StageWork,
    download_folder,
    exists,
    remove_prefix,
    upload_folder,
    write_spec,
)


def step_log(message: str) -> None:
    """Print to the step's log at once (a pod's stdout is a pipe, block-buffered otherwise)."""
    print(message, flush=True)


def train_stage(
    name: StageName,
    config: TrainConfig,
    rows: Sequence[GuardRow],
    source: str,
    work: Path,
    *,
    key: str,
    settings: Settings,
    validation: Mapping[str, Sequence[GuardRow]] | None = None,
    log=step_log,
) -> StageOutcome:
    """Train one stage from ``source`` into ``work/<name>``, where ``settings`` say
    (``validation``: named validation sets, as ``runner.run_stage`` takes them).

    Raises:
        ConfigError: cluster mode without a usable artifact root, image or cluster.
        DataError: object storage refuses an upload or download.
        ModelError: training fails (locally, or in the RayJob: the reason says which side).
    """
    if settings.training_backend == "rayjob":
        return run_stage_as_rayjob(
            name,
            config,
            rows,
            source,
            work,
            key=key,
            settings=settings,
            validation=validation,
            log=log,
        )
    return run_stage(
        name, config, rows, source, work, settings=settings, validation=validation, log=log
    )


def discard_stage_work(work: Path, key: str, settings: Settings, log=step_log) -> None:
    """Remove the stage's work (local folder, and in cluster mode its storage prefix) once
    the step has published the model; a failure to remove is only reported."""
    shutil.rmtree(work, ignore_errors=True)
    if settings.training_backend != "rayjob" or not settings.artifact_root:
        return
    prefix = StageWork.under(settings.artifact_root, key).prefix
    try:
        remove_prefix(prefix, settings)
    except DataError as exc:
        log(f"warning: could not remove the stage's work in {prefix}: {exc}")


def run_stage_as_rayjob(
    name: StageName,
    config: TrainConfig,
    rows: Sequence[GuardRow],
    source: str,
    work: Path,
    *,
    key: str,
    settings: Settings,
    validation: Mapping[str, Sequence[GuardRow]] | None = None,
    log=step_log,
    api: Any = None,
    pods: RayJobPods | None = None,
    keep: bool = False,
    poll_s: float = 5.0,
) -> StageOutcome:
    """Train one stage as a RayJob and download its model into ``work/<name>``.

    Args:
        api: a ``kubernetes.client.ApiClient``; default: in-cluster or kubeconfig.
        pods: image, env wiring and resources of the job's pods; default: the pipeline's
            (``LIBRA_RAYJOB_PODS``).
        keep: leave the RayJob in place at the end (to inspect it).
        poll_s: seconds between looks at the job.

    Raises:
        ConfigError: no ``s3://`` artifact root, no image, or no cluster to talk to.
        DataError: object storage refuses an upload or download.
        ModelError: the RayJob failed or timed out (the reason names it), or left no model.
    """
    from libra_guard.kube.client import api_client, namespace

    stage_dir = Path(work) / name
    if (stage_dir / STAGE_INFO).is_file():
        log(f"{name}: already finished in {stage_dir}, skipping")
        return _outcome(stage_dir, skipped=True)
    layout = StageWork.under(_artifact_root(settings), key)
    done_marker = f"{layout.output_uri}/{STAGE_INFO}"
    if exists(done_marker, settings):
        log(f"{name}: an earlier attempt finished this stage in {layout.output_uri}")
    else:
        pods = pods or RayJobPods.from_env()
        spec = _upload_inputs(
            name, config, rows, validation or {}, source, key, layout, settings, log
        )
        job_name = rayjob_name(name, key)
        runner = RayJobRunner(
            api if api is not None else api_client(settings),
            namespace(settings),
            log=log,
            poll_s=poll_s,
        )
        manifest = build_rayjob(
            name=job_name,
            namespace=runner.namespace,
            stage=name,
            key=key,
            spec_uri=layout.spec_uri,
            image=_image(settings, pods),
            num_workers=spec.config.num_workers,
            use_gpu=spec.config.use_gpu,
            timeout_s=settings.rayjob_timeout_s,
            pods=pods,
        )
        try:
            with sigterm_raises():
                runner.run(manifest, timeout_s=settings.rayjob_timeout_s, keep=keep)
        except RayJobError as exc:
            if not exists(done_marker, settings):
                raise ModelError(f"{name} training in the cluster failed: {exc}") from exc
            log(f"warning: {exc}; the model is complete in {layout.output_uri}, using it")
        if not exists(done_marker, settings):
            raise ModelError(
                f"{name}: RayJob {runner.namespace}/{job_name} succeeded but left no model in "
                f"{layout.output_uri}; see the job's log above"
            )
    download_folder(layout.output_uri, stage_dir, settings)
    log(f"{name}: model downloaded from {layout.output_uri} to {stage_dir}")
    return _outcome(stage_dir)


def _upload_inputs(
    name: StageName,
    config: TrainConfig,
    rows: Sequence[GuardRow],
    validation: Mapping[str, Sequence[GuardRow]],
    source: str,
    key: str,
    layout: StageWork,
    settings: Settings,
    log,
) -> StageSpec:
    if not rows:
        raise ModelError(f"{name} has no training rows; pass a non-empty data file")
    if config.storage_path and config.storage_path != layout.checkpoints_uri:
        log(
            f"{name}: checkpoints go to {layout.checkpoints_uri} in cluster mode, not "
            f"{config.storage_path}"
        )
    job_config = config.model_copy(update={"storage_path": layout.checkpoints_uri})
    write_jsonl(rows, layout.rows_uri, settings)
    validation_uris = {}
    for set_name, set_rows in validation.items():
        if set_rows:
            validation_uris[set_name] = layout.validation_uri(set_name)
            write_jsonl(set_rows, validation_uris[set_name], settings)
    source_is_folder = Path(source).is_dir()
    if source_is_folder:
        count = upload_folder(Path(source), layout.source_uri, settings)
        log(f"{name}: starting model uploaded ({count} files) to {layout.source_uri}")
    spec = StageSpec(
        stage=name,
        key=key,
        config=job_config,
        rows_uri=layout.rows_uri,
        validation_uris=validation_uris,
        source=layout.source_uri if source_is_folder else source,
        source_is_folder=source_is_folder,
        output_uri=layout.output_uri,
    )
    write_spec(spec, layout.spec_uri, settings)
    log(f"{name}: {len(rows)} rows and the spec uploaded to {layout.prefix}")
    return spec


def _outcome(stage_dir: Path, *, skipped: bool = False) -> StageOutcome:
    return read_stage_outcome(stage_dir, skipped=skipped)


def _artifact_root(settings: Settings) -> str:
    root = settings.artifact_root or ""
    if not root.startswith("s3://") or not root[len("s3://") :].strip("/"):
        raise ConfigError(
            "LIBRA_TRAINING_BACKEND=rayjob needs LIBRA_ARTIFACT_ROOT=s3://BUCKET[/PREFIX] "
            f"(the RayJob's pods read inputs and write the model there); got {root or 'nothing'}"
        )
    return root


def _image(settings: Settings, pods: RayJobPods) -> str:
    image = settings.rayjob_image or pods.image
    if not image:
        raise ConfigError(
            "no image for the training RayJob: set LIBRA_RAYJOB_IMAGE, or run the step from "
            "the compiled pipeline (it passes its image in LIBRA_RAYJOB_PODS)"
        )
    return image
