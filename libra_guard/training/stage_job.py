"""The entrypoint of a training stage's RayJob: the same ``run_stage`` as a local run, on the
RayJob's own Ray cluster, with inputs and outputs in object storage.

Usage (KubeRay runs this on the RayJob's head; ``cluster_stage`` writes the spec)::

    python -m libra_guard.training.stage_job --spec s3://libra-artifacts/stage-work/KEY/spec.json

It joins the cluster it runs on and no other: Ray's job manager gives every job's driver
the concrete GCS address of its own cluster in ``RAY_ADDRESS``
(``ray/dashboard/modules/job/job_supervisor.py``, ``_get_driver_env_vars``). Without it the
job refuses to start instead of joining whatever Ray ``address="auto"`` finds on the machine
(another Ray head there would train the stage and see its data). It copies the starting
model onto every node (Ray Train workers load it from a local path, and the workers run in
other pods than this driver), trains with checkpoints under the spec's S3 prefix (a second
attempt resumes from them), and uploads the model, ``libra_guard_stage.json`` last. Progress is
printed line by line: the pipeline step streams this job's log into its own.

Exit status 0 on success, 1 with a one-line reason on a user-caused error (bad spec, storage
refused, training failed); the Ray job's status and message carry it to the step.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from libra_guard.data.io import read_rows
from libra_guard.errors import ConfigError, DataError, LibraGuardError
from libra_guard.settings import Settings
from libra_guard.training.publish import STAGE_INFO, StageOutcome
from libra_guard.training.runner import run_stage
from libra_guard.training.stage_spec import StageSpec, download_folder, read_spec, upload_folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m libra_guard.training.stage_job")
    parser.add_argument("--spec", required=True, help="s3:// URI of the stage's spec.json")
    args = parser.parse_args(argv)
    # stdout is a file under Ray's job manager: line-buffer it so the step sees progress live.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    settings = Settings()
    try:
        own_cluster_address()
        spec = read_spec(args.spec, settings)
        run_spec(spec, settings)
    except LibraGuardError as exc:
        print(f"stage_job failed: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


def run_spec(spec: StageSpec, settings: Settings, log=print) -> StageOutcome:
    """Train the spec's stage on the Ray cluster this process runs on and upload the model.

    Raises:
        DataError: inputs cannot be read or the model cannot be uploaded.
        ModelError: training fails.
    """
    _join_cluster()
    log(f"stage_job: {spec.stage}, key {spec.key}, {_cluster_summary()}")
    rows = read_rows(spec.rows_uri, settings)
    work = Path(tempfile.gettempdir()) / "libra-stage-work" / spec.key
    source = spec.source
    if spec.source_is_folder:
        source = str(stage_on_every_node(spec.source, work / "source", settings))
        log(f"stage_job: starting model from {spec.source} copied to {source} on every node")
    validation = {name: read_rows(uri, settings) for name, uri in spec.validation_uris.items()}
    outcome = run_stage(
        spec.stage,
        spec.config,
        rows,
        source,
        work,
        settings=settings,
        validation=validation or None,
        log=log,
    )
    count = upload_folder(Path(outcome.model_dir), spec.output_uri, settings, last=STAGE_INFO)
    log(f"stage_job: {spec.stage} model uploaded ({count} files) to {spec.output_uri}")
    shutil.rmtree(work, ignore_errors=True)
    return outcome


def stage_on_every_node(uri: str, folder: Path, settings: Settings) -> Path:
    """Download the folder at ``uri`` to the same local ``folder`` on every live node.

    Raises:
        DataError: a node cannot download it.
    """
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    fetch = ray.remote(num_cpus=0, max_retries=2)(_fetch_once)
    nodes = [node["NodeID"] for node in ray.nodes() if node.get("Alive")]
    pending = [
        fetch.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False)
        ).remote(uri, str(folder), settings)
        for node in nodes
    ]
    try:
        ray.get(pending)
    except ray.exceptions.RayTaskError as exc:
        raise DataError(f"cannot copy {uri} onto every node: {exc.cause}") from exc
    return folder


def _fetch_once(uri: str, folder: str, settings: Settings) -> None:
    # download_folder renames a finished copy into place: an existing folder is complete.
    if not Path(folder).is_dir():
        download_folder(uri, Path(folder), settings)


def own_cluster_address() -> str:
    """The address of the Ray cluster this job runs on (``RAY_ADDRESS``).

    Raises:
        ConfigError: it is missing or ``auto``: this process was not started by Ray's job
            manager, and joining whatever Ray runs nearby is refused.
    """
    address = os.environ.get("RAY_ADDRESS", "").strip()
    if not address or address == "auto":
        raise ConfigError(
            "stage_job runs only as a Ray job on its RayJob's own cluster, whose job manager "
            f"sets RAY_ADDRESS to that cluster's address (got {address or 'nothing'!r}); it "
            "never joins another Ray on the machine through address 'auto'"
        )
    return address


def _join_cluster() -> None:
    import ray

    if not ray.is_initialized():
        ray.init(address=own_cluster_address(), log_to_driver=True)


def _cluster_summary() -> str:
    import ray

    resources = ray.cluster_resources()
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    return (
        f"Ray cluster of {nodes} node(s), {resources.get('CPU', 0):.0f} CPU, "
        f"{resources.get('GPU', 0):.0f} GPU"
    )


if __name__ == "__main__":
    sys.exit(main())
