"""A recurring run of the pipeline on a Kubeflow Pipelines backend (``submit --schedule CRON``).

The cluster variant is compiled as ``submit`` compiles it and sent inline (no pipeline upload)
as a KFP v2beta1 recurring run with a cron trigger, in the config's experiment, with the
config's arguments and service account, one run at a time and no catch-up of missed slots:
a retraining backlog after an outage is one run, not one per missed slot.

KFP's scheduler takes robfig/cron expressions with a SECONDS field first (six fields); the usual
five-field form (``0 3 * * 1``: Mondays 03:00) is accepted and run at second 0.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from libra_guard.errors import ConfigError
from pipelines.config import PipelineConfig
from pipelines.submit import BackendError, _short


@dataclass(frozen=True)
class ScheduledRun:
    recurring_run_id: str
    cron: str
    url: str


def kfp_cron(expression: str) -> str:
    """The six-field cron KFP's scheduler reads, from a five- or six-field expression.

    Raises:
        ConfigError: not five or six space-separated fields.
    """
    fields = expression.split()
    if len(fields) == 5:
        return " ".join(["0", *fields])
    if len(fields) == 6:
        return " ".join(fields)
    raise ConfigError(
        f"--schedule {expression!r} is not a cron expression: give five fields "
        "(minute hour day-of-month month day-of-week, e.g. '0 3 * * 1') or six (seconds first)"
    )


def schedule(
    config: PipelineConfig, host: str, cron: str, *, experiment: str | None = None
) -> ScheduledRun:
    """Create a recurring run of the pipeline at ``host`` on ``cron``.

    Raises:
        ConfigError: ``host`` is not an http(s) URL, or ``cron`` is malformed.
        BackendError: the backend cannot be reached or refuses the recurring run.
    """
    import kfp

    from pipelines.libra_guard_pipeline import compile_pipeline

    if not host.startswith(("http://", "https://")):
        raise ConfigError(f"--host must be an http(s) URL of the KFP API, got {host!r}")
    trigger = kfp_cron(cron)
    name = f"{config.experiment}-scheduled"
    with tempfile.TemporaryDirectory(prefix="libra-guard-schedule-") as work:
        package = compile_pipeline(Path(work) / "libra_guard_pipeline.yaml", config.options())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                client = kfp.Client(host=host)
            found = client.create_experiment(experiment or config.experiment)
            created = client.create_recurring_run(
                experiment_id=found.experiment_id,
                job_name=name,
                description="libra-guard pipeline on a schedule (libra-guard submit --schedule)",
                cron_expression=trigger,
                max_concurrency=1,
                no_catchup=True,
                params=config.arguments(),
                pipeline_package_path=str(package),
                enable_caching=True,
                service_account=config.service_account or None,
            )
        except Exception as exc:  # urllib3 errors, ApiException, ValueError from the client
            raise BackendError(
                f"cannot create the recurring run at {host}: {_short(exc)}; check --host and "
                "that the KFP API answers there"
            ) from exc
    run_id = created.recurring_run_id
    url = f"{host.rstrip('/')}/#/recurringrun/details/{run_id}"
    return ScheduledRun(recurring_run_id=run_id, cron=trigger, url=url)
