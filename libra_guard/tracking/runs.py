"""MLflow runs of a pipeline: one experiment per pipeline, a parent run per pipeline run and a
nested run per stage.

Pipeline steps run in separate processes (KFP's subprocess runner, or pods on a cluster),
so nothing here relies on MLflow's process-wide "active run": the parent run's id travels
between steps as a string, and every function takes the run id (or, when given none, uses
the active run of ``stage_run``). The functions are idempotent where a retry could repeat
them: the same pipeline run id finds the same parent run, the same stage name under a
parent finds the same nested run, so a pipeline resumed after a crash adds no duplicates.

Usage in a step::

    parent = start_pipeline_run(kfp_run_id, params={"seed": 0})        # first step
    log_stage(parent, "finetune_guard", params=..., metrics={"loss": 0.41})
    with stage_run(parent, "evaluate_guard"):
        log_dataset_input("data/test.jsonl", digest, "test", context="evaluation")
        log_evaluation(metrics, eval_dir)
"""

from __future__ import annotations

import json
import math
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from libra_guard.errors import ConfigError
from libra_guard.tracking.store import client, ensure_experiment, resolve_tracking_uri

if TYPE_CHECKING:
    from libra_guard.promotion.gate import GateDecision

PIPELINE_EXPERIMENT = "libra-guard-pipeline"
PIPELINE_RUN_TAG = "libra.pipeline_run_id"
STAGE_TAG = "libra.stage"
PARENT_RUN_TAG = "mlflow.parentRunId"
#: MLflow's dataset digest column holds 36 characters; the full sha256 goes in a tag.
MLFLOW_DIGEST_CHARS = 32
DATASET_SHA256_TAG = "libra.sha256"
GATE_REPORT_FILE = "gate_report.md"
GATE_DECISION_FILE = "gate_decision.json"
#: Evaluation figures that are not scalar metrics (the confusion matrix is a PNG).
SKIPPED_EVAL_KEYS = frozenset({"confusion_matrix", "run"})
#: MLflow's limits per ``log_batch`` call.
METRICS_PER_BATCH = 1000
PARAMS_PER_BATCH = 100


def start_pipeline_run(
    pipeline_run_id: str,
    *,
    experiment: str = PIPELINE_EXPERIMENT,
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
    run_name: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """The MLflow parent run of one pipeline run, created on first call; returns its id.

    Calling it again with the same ``pipeline_run_id`` returns the same run.

    Raises:
        ConfigError: ``params`` differ from the values an earlier call logged.
    """
    uri = resolve_tracking_uri(tracking_uri)
    experiment_id = ensure_experiment(experiment, tracking_uri=uri)
    mlflow_client = client(uri)
    existing = mlflow_client.search_runs(
        [experiment_id], filter_string=f"tags.`{PIPELINE_RUN_TAG}` = {_quoted(pipeline_run_id)}"
    )
    if existing:
        run_id = existing[0].info.run_id
    else:
        run = mlflow_client.create_run(
            experiment_id,
            run_name=run_name or f"pipeline-{pipeline_run_id}",
            tags={PIPELINE_RUN_TAG: pipeline_run_id, **(tags or {})},
        )
        run_id = run.info.run_id
    _log_batch(run_id, uri, params=params or {})
    return run_id


def finish_run(run_id: str, *, status: str = "FINISHED", tracking_uri: str | None = None) -> None:
    """Mark a run ``FINISHED`` (or ``FAILED``/``KILLED``)."""
    client(tracking_uri).set_terminated(run_id, status=status)


def stage_run_id(parent_run_id: str, stage: str, *, tracking_uri: str | None = None) -> str:
    """The nested run of ``stage`` under ``parent_run_id``, created on first call."""
    mlflow_client = client(tracking_uri)
    parent = mlflow_client.get_run(parent_run_id)
    experiment_id = parent.info.experiment_id
    existing = mlflow_client.search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{PARENT_RUN_TAG}` = {_quoted(parent_run_id)} "
            f"and tags.`{STAGE_TAG}` = {_quoted(stage)}"
        ),
    )
    if existing:
        return existing[0].info.run_id
    run = mlflow_client.create_run(
        experiment_id,
        run_name=stage,
        tags={
            PARENT_RUN_TAG: parent_run_id,
            STAGE_TAG: stage,
            **_inherited_tags(parent.data.tags),
        },
    )
    return run.info.run_id


@contextmanager
def stage_run(parent_run_id: str, stage: str, *, tracking_uri: str | None = None) -> Iterator[str]:
    """Make the stage's nested run MLflow's active run for the block; yields its id.

    The run ends ``FINISHED``, or ``FAILED`` if the block raises.
    """
    import mlflow

    from libra_guard.tracking.store import tracking_to

    uri = resolve_tracking_uri(tracking_uri)
    run_id = stage_run_id(parent_run_id, stage, tracking_uri=uri)
    with tracking_to(uri), mlflow.start_run(run_id=run_id, nested=mlflow.active_run() is not None):
        yield run_id


def log_stage(
    parent_run_id: str,
    stage: str,
    *,
    params: Mapping[str, object] | None = None,
    metrics: Mapping[str, float] | None = None,
    step_metrics: Mapping[str, Sequence[tuple[int, float]]] | None = None,
    artifacts: Iterable[str | Path] = (),
    tags: Mapping[str, str] | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Log one finished stage as a nested run of the pipeline run; returns its run id.

    Args:
        parent_run_id: the pipeline's parent run (``start_pipeline_run``).
        stage: the step's name, e.g. ``finetune_guard``; one nested run per name.
        params: hyper-parameters and settings (stringified by MLflow).
        metrics: final figures of the stage.
        step_metrics: per-step series, ``{"loss": [(step, value), ...]}``.
        artifacts: files or folders to attach (folders keep their name).
        tags: extra run tags.
    """
    uri = resolve_tracking_uri(tracking_uri)
    run_id = stage_run_id(parent_run_id, stage, tracking_uri=uri)
    series = {name: list(points) for name, points in (step_metrics or {}).items()}
    for name, value in (metrics or {}).items():
        series.setdefault(name, []).append((0, value))
    _log_batch(run_id, uri, params=params or {}, series=series, tags=tags or {})
    mlflow_client = client(uri)
    for artifact in artifacts:
        path = Path(artifact)
        if path.is_dir():
            mlflow_client.log_artifacts(run_id, str(path), artifact_path=path.name)
        else:
            mlflow_client.log_artifact(run_id, str(path))
    mlflow_client.set_terminated(run_id, status="FINISHED")
    return run_id


def log_dataset_input(
    path: str | Path,
    digest: str,
    name: str,
    *,
    context: str = "training",
    run_id: str | None = None,
    tracking_uri: str | None = None,
) -> None:
    """Record a dataset as an input of the run, with its sha256 digest.

    MLflow's own digest field holds at most 36 characters, so it gets the first 32 hex
    digits and the full digest is the input tag ``libra.sha256``.
    """
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag

    run_id, uri = _target_run(run_id, tracking_uri)
    location = str(path)
    if "://" not in location:
        location = str(Path(location).resolve())
    with warnings.catch_warnings():
        # Local paths match two equivalent local sources; MLflow warns and picks one.
        warnings.simplefilter("ignore", UserWarning)
        source = resolve_dataset_source(location)
    dataset = MetaDataset(source=source, name=name, digest=digest[:MLFLOW_DIGEST_CHARS])
    tags = [InputTag("mlflow.data.context", context), InputTag(DATASET_SHA256_TAG, digest)]
    client(uri).log_inputs(run_id, datasets=[DatasetInput(dataset._to_mlflow_entity(), tags)])


def log_evaluation(
    metrics: Mapping,
    eval_dir: str | Path | None = None,
    *,
    prefix: str = "eval",
    run_id: str | None = None,
    tracking_uri: str | None = None,
) -> dict[str, float]:
    """Log an evaluation's figures as metrics and its files (JSON, JSONL, PNG) as artifacts.

    Nested figures become dotted names: ``eval.average.accuracy``,
    ``eval.by_category.违法犯罪.accuracy``. Returns the metrics logged.
    """
    run_id, uri = _target_run(run_id, tracking_uri)
    flat = flatten_metrics(metrics, prefix)
    _log_batch(run_id, uri, series={name: [(0, value)] for name, value in flat.items()})
    if eval_dir is not None:
        client(uri).log_artifacts(run_id, str(eval_dir), artifact_path="evaluation")
    return flat


def log_gate_report(
    decision: GateDecision, *, run_id: str | None = None, tracking_uri: str | None = None
) -> None:
    """Log the gate's Markdown report and JSON decision as artifacts, and its outcome as a
    metric (``gate.passed`` 1 or 0) and tags (``libra.gate.*``)."""
    run_id, uri = _target_run(run_id, tracking_uri)
    series = {"gate.passed": [(0, float(decision.passed))]}
    result = decision.comparison.mcnemar
    if result is not None:
        series["gate.mcnemar.p_value"] = [(0, result.p_value)]
    tags = {
        "libra.gate.passed": str(decision.passed).lower(),
        "libra.gate.outcome": decision.comparison.outcome,
        "libra.gate.summary": decision.summary,
    }
    _log_batch(run_id, uri, series=series, tags=tags)
    with tempfile.TemporaryDirectory(prefix="libra-gate-") as folder:
        report = Path(folder) / GATE_REPORT_FILE
        report.write_text(decision.to_markdown(), encoding="utf-8")
        data = Path(folder) / GATE_DECISION_FILE
        data.write_text(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2), "utf-8")
        client(uri).log_artifacts(run_id, folder, artifact_path="gate")


def flatten_metrics(metrics: Mapping, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested dict as ``prefix.key.subkey`` (booleans, lists, None and
    non-finite numbers skipped)."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        if key in SKIPPED_EVAL_KEYS:
            continue
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, name))
        elif _is_number(value) and math.isfinite(value):
            flat[name] = float(value)
    return flat


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _target_run(run_id: str | None, tracking_uri: str | None) -> tuple[str, str]:
    """The run to log to and its tracking URI: the given run, else the active one."""
    if run_id is not None:
        return run_id, resolve_tracking_uri(tracking_uri)
    import mlflow

    active = mlflow.active_run()
    if active is None:
        raise ConfigError(
            "no MLflow run to log to: pass run_id or call inside `with stage_run(...)`"
        )
    return active.info.run_id, tracking_uri or mlflow.get_tracking_uri()


def _quoted(value: str) -> str:
    """``value`` as a quoted literal of MLflow's search syntax (which has no escapes)."""
    if "'" in value:
        raise ConfigError(f"run ids and stage names cannot contain a quote: {value!r}")
    return f"'{value}'"


def _inherited_tags(parent_tags: Mapping[str, str]) -> dict[str, str]:
    """Tags a nested run copies from its parent, so a search by pipeline run finds it."""
    return {key: value for key, value in parent_tags.items() if key == PIPELINE_RUN_TAG}


def _log_batch(
    run_id: str,
    tracking_uri: str,
    *,
    params: Mapping[str, object] | None = None,
    series: Mapping[str, Sequence[tuple[int, float]]] | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Log params, metric points and tags within MLflow's per-call limits.

    Raises:
        ConfigError: a param was logged before with another value (MLflow params are
            immutable; a rerun with changed settings needs a new pipeline run).
    """
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException

    now = int(time.time() * 1000)
    points = [
        Metric(name, float(value), now, int(step))
        for name, values in (series or {}).items()
        for step, value in values
    ]
    param_entities = [Param(str(key), str(value)) for key, value in (params or {}).items()]
    tag_entities = [RunTag(key, str(value)) for key, value in (tags or {}).items()]
    mlflow_client = client(tracking_uri)
    try:
        for start in range(0, len(points), METRICS_PER_BATCH):
            mlflow_client.log_batch(run_id, metrics=points[start : start + METRICS_PER_BATCH])
        for start in range(0, len(param_entities), PARAMS_PER_BATCH):
            batch = param_entities[start : start + PARAMS_PER_BATCH]
            mlflow_client.log_batch(run_id, params=batch)
        for start in range(0, len(tag_entities), PARAMS_PER_BATCH):
            mlflow_client.log_batch(run_id, tags=tag_entities[start : start + PARAMS_PER_BATCH])
    except MlflowException as exc:
        if "Changing param values is not allowed" in str(exc):
            raise ConfigError(
                f"MLflow run {run_id} already has other values for these params: "
                f"{exc.message}; start a new pipeline run to change them"
            ) from exc
        raise
