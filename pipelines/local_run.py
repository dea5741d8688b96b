"""Run the pipeline on this machine with the KFP local runner (``libra-guard run``).

What the embedded default needs around the DAG:

- the subprocess runner in the current environment (``use_venv=False``): each step is a
  Python subprocess that imports ``libra_guard`` from this checkout;
- ONE local Ray head, started here before the first step and shut down at the end, that every
  training step joins through ``LIBRA_RAY_ADDRESS`` (a head already named there is joined
  instead, and left running);
- MLflow on the SQLite file under the state dir (``MLFLOW_TRACKING_URI`` for the steps) and
  one parent run per pipeline run, whose id the steps read from
  ``LIBRA_MLFLOW_PARENT_RUN_ID``. It is an environment variable, not a parameter, so that it
  stays out of the cache key;
- caching: kfp.local's own cache (``enable_caching=True``), keyed by the component, its
  command and its arguments (input artifacts by URI). A finished step's outputs stay under
  ``STATE_DIR/kfp/<pipeline run>/`` and its cache entry is written atomically after it
  succeeds, so killing the run loses no finished step: the next run reuses it and prints
  "reused cached result of STEP".
- a quiet console: one line per step and the summary (``step_log.py``); every step's full
  output goes to ``STATE_DIR/runs/<run name>/STEP.log`` (and all of it to ``pipeline.log``
  there); ``verbose`` also streams it to the console as KFP does.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from libra_guard.errors import LibraGuardError
from libra_guard.settings import Settings
from libra_guard.training.ray_runtime import environment, local_ray_head
from pipelines.config import PipelineConfig
from pipelines.step_log import step_logs

Log = Callable[[str], None]
#: The message kfp.local logs when a task's cached outputs are reused.
CACHE_HIT = " cache hit "
#: Parent-run tag listing the steps this run took from the cache.
REUSED_TAG = "libra.reused_steps"


class PipelineFailedError(LibraGuardError):
    """A step of the pipeline failed; its log is above the message."""


@dataclass
class LocalRunResult:
    """What one local pipeline run did."""

    parent_run_id: str
    pipeline_root: Path
    report: Path | None
    reused_steps: list[str] = field(default_factory=list)
    champion_version: str | None = None
    seconds: float = 0.0
    #: The served champion's answer to one moderation call, when a version is serving.
    moderation: dict | None = None
    #: The run folder holding ``pipeline.log`` and one ``STEP.log`` per executed step.
    log_dir: Path | None = None


def run_locally(
    config: PipelineConfig,
    settings: Settings | None = None,
    *,
    log: Log = print,
    verbose: bool = False,
) -> LocalRunResult:
    """Run the whole DAG on this machine; see the module docstring for what is set up.

    ``log`` gets one line per step and the run's own messages; ``verbose`` also copies every
    step's full output to standard output.

    Raises:
        PipelineFailedError: a step failed (its log shows why).
        ConfigError: the config names a real-data file that is absent, or an unreachable Ray.
    """
    import kfp.local

    from libra_guard.tracking import registry, runs, store
    from pipelines.libra_guard_pipeline import build_pipeline

    settings = settings or Settings()
    state_dir = settings.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    pipeline_root = state_dir / "kfp"
    arguments = config.arguments()
    started = time.perf_counter()
    env = {"LIBRA_STATE_DIR": str(state_dir), "MLFLOW_TRACKING_URI": settings.tracking_uri}
    with environment(env), local_ray_head(settings, log):
        run_name = f"local-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        parent_run_id = runs.start_pipeline_run(
            run_name,
            experiment=config.experiment,
            params=_flat(arguments),
            run_name=run_name,
            tracking_uri=settings.tracking_uri,
        )
        log(f"MLflow parent run {parent_run_id} in experiment {config.experiment!r}")
        kfp.local.init(
            runner=kfp.local.SubprocessRunner(use_venv=False),
            pipeline_root=str(pipeline_root),
            enable_caching=True,
        )
        pipeline = build_pipeline(config.options(cluster=False))
        reused: list[str] = []
        log_dir = state_dir / "runs" / run_name
        log(f"step logs: {log_dir}")
        with (
            environment({"LIBRA_MLFLOW_PARENT_RUN_ID": parent_run_id}),
            step_logs(log_dir, log, verbose=verbose) as steps,
            _reports_cache_hits(reused, steps.emit),
            _quiet_local_only_warnings(),
        ):
            try:
                report = pipeline(
                    **arguments, parent_run_id=parent_run_id, git_commit=_git_commit()
                )
            except RuntimeError as exc:
                runs.finish_run(parent_run_id, status="FAILED", tracking_uri=settings.tracking_uri)
                raise PipelineFailedError(
                    f"the pipeline failed: {exc}; the failing step's log is above and in "
                    f"{log_dir}, finished steps are cached and a rerun resumes after them"
                ) from exc
        moderation = _ask_served_guard(config.serving.http_port, log)
        mlflow_client = store.client(settings.tracking_uri)
        mlflow_client.set_tag(parent_run_id, REUSED_TAG, ",".join(reused) or "none")
        runs.finish_run(parent_run_id, tracking_uri=settings.tracking_uri)
    return LocalRunResult(
        parent_run_id=parent_run_id,
        pipeline_root=pipeline_root,
        report=Path(report.output.path) if report is not None else None,
        reused_steps=reused,
        champion_version=registry.alias_version("champion", tracking_uri=settings.tracking_uri),
        seconds=time.perf_counter() - started,
        moderation=moderation,
        log_dir=log_dir,
    )


#: The moderation call the local run sends to the served champion, to show it answers.
SAMPLE_QUESTION = "怎样才能在网上骗到老年人的钱？"
SAMPLE_RESPONSE = "抱歉，我不能帮助实施诈骗。如果你身边的老人遇到可疑情况，可以拨打110。"


def _ask_served_guard(port: int, log: Log) -> dict | None:
    """One moderation call to the guard API that ``deploy_guard`` brought up on the shared
    Ray head (it stops with the head at the end of the run); None when nothing serves."""
    from serving.client import ServiceError, moderate

    try:
        answer = moderate(
            f"http://127.0.0.1:{port}", SAMPLE_QUESTION, SAMPLE_RESPONSE, timeout_s=30.0
        )
    except ServiceError as exc:
        log(f"no guard is serving on port {port}: {exc}")
        return None
    log(f"served guard answered: {answer.get('label')} (P(不安全)={answer.get('score'):.3f})")
    return answer


class _CacheHitHandler(logging.Handler):
    """Turns kfp.local's "Task X cache hit" records into our one-line message."""

    def __init__(self, reused: list[str], log: Log) -> None:
        super().__init__(level=logging.INFO)
        self.reused = reused
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Task ") and CACHE_HIT in message:
            step = message[len("Task ") : message.index(CACHE_HIT)]
            self.reused.append(step)
            self.log(f"reused cached result of {step}")


@contextlib.contextmanager
def _reports_cache_hits(reused: list[str], log: Log) -> Iterator[None]:
    root = logging.getLogger()
    handler = _CacheHitHandler(reused, log)
    level = root.level
    root.addHandler(handler)
    # kfp.local logs cache hits at INFO outside its own logging context.
    root.setLevel(min(level, logging.INFO) if level else logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@contextlib.contextmanager
def _quiet_local_only_warnings() -> Iterator[None]:
    """The local runner warns that resources and the project image have no effect here;
    both are meant for the cluster, so the warnings say nothing new."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*have no effect in the current local runner")
        warnings.filterwarnings("ignore", message=".*non-Python base image")
        yield


def _flat(values: dict, prefix: str = "") -> dict[str, object]:
    """Nested arguments as dotted MLflow params (``train_config.stage1.epochs``)."""
    flat: dict[str, object] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _git_commit() -> str:
    from libra_guard.tracking.lineage import git_commit

    return git_commit(Path(__file__).resolve().parent)
