"""Submit the pipeline to a Kubeflow Pipelines backend (``libra-guard submit``).

The cluster variant is compiled from the config (image, resources, GPU, the Secret and
ConfigMap whose keys become the tasks' environment, and what the training tasks hand their
RayJobs) and uploaded with ``kfp.Client``; the run gets the config's arguments and runs as the
config's service account (``libra-pipeline`` from the libra-platform chart, whose Role lets
the steps create RayJobs and patch the RayService). In the cluster the gate step opens the
MLflow parent run, since the MLflow server is reachable from the tasks, not necessarily from
here.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from libra_guard.errors import ConfigError, LibraGuardError
from pipelines.config import PipelineConfig

#: Seconds ``--wait`` waits for the run to finish.
DEFAULT_WAIT_SECONDS = 6 * 3600


class BackendError(LibraGuardError):
    """The KFP backend could not be reached or refused the run."""


@dataclass(frozen=True)
class SubmittedRun:
    run_id: str
    url: str
    state: str | None = None


def submit(
    config: PipelineConfig,
    host: str,
    *,
    experiment: str | None = None,
    wait: bool = False,
    timeout_s: int = DEFAULT_WAIT_SECONDS,
) -> SubmittedRun:
    """Compile the cluster variant, upload it and start a run on the backend at ``host``.

    Raises:
        ConfigError: ``host`` is not an http(s) URL.
        BackendError: the backend cannot be reached, refuses the run or the run fails.
    """
    import warnings

    import kfp

    from pipelines.libra_guard_pipeline import compile_pipeline

    if not host.startswith(("http://", "https://")):
        raise ConfigError(f"--host must be an http(s) URL of the KFP API, got {host!r}")
    with tempfile.TemporaryDirectory(prefix="libra-guard-submit-") as work:
        package = compile_pipeline(Path(work) / "libra_guard_pipeline.yaml", config.options())
        try:
            with warnings.catch_warnings():
                # "This client only works with KFP v2.0.0-beta.2 and later": said on every use.
                warnings.simplefilter("ignore", FutureWarning)
                client = kfp.Client(host=host)
            result = client.create_run_from_pipeline_package(
                str(package),
                arguments=config.arguments(),
                experiment_name=experiment or config.experiment,
                enable_caching=True,
                service_account=config.service_account or None,
            )
        except Exception as exc:  # the client raises urllib3, ApiException, ValueError...
            raise BackendError(
                f"cannot submit to the KFP backend at {host}: {_short(exc)}; check --host and "
                "that the KFP API answers there (e.g. kubectl port-forward svc/ml-pipeline-ui "
                "8080:80)"
            ) from exc
    run_id = result.run_id
    url = f"{host.rstrip('/')}/#/runs/details/{run_id}"
    if not wait:
        return SubmittedRun(run_id=run_id, url=url)
    try:
        finished = client.wait_for_run_completion(run_id, timeout=timeout_s)
    except Exception as exc:
        raise BackendError(f"waiting for run {run_id} failed: {_short(exc)}") from exc
    state = str(getattr(finished, "state", "") or "")
    if state.upper() not in {"SUCCEEDED", "SKIPPED"}:
        raise BackendError(f"run {run_id} ended in state {state or 'unknown'}; see {url}")
    return SubmittedRun(run_id=run_id, url=url, state=state)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300]
