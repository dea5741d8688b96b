"""``deploy_guard``: after registration, roll the new version into the guard service.

The new version comes up beside the serving one, a smoke set from its own evaluation runs
through it (every verdict must match), traffic switches, and only then does ``champion`` move
to it. On any failure the old version keeps serving, ``champion`` stays where it was, and the
reason is recorded on the model version (``libra.rollout.reason``) and in the step's output.
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from components import COMPONENT_OPTIONS, PROJECT_IMAGE


@dsl.component(base_image=PROJECT_IMAGE, **COMPONENT_OPTIONS)
def deploy_guard(
    version: str,
    test_data: Input[Dataset],
    evaluation: Input[Dataset],
    rollout: Output[Artifact],
    serving_config: dict = {},  # noqa: B006 - KFP reads defaults from the signature
    http_host: str = "127.0.0.1",
    http_port: int = 8000,
    smoke_size: int = 16,
    smoke_margin: float = 0.05,
    smoke_tolerance: float = 0.05,
    parent_run_id: str = "",
) -> NamedTuple("DeployOutputs", [("served", bool), ("reason", str)]):
    """Roll ``version`` out; move ``champion`` only once it serves.

    Args:
        version: the registered ``libra-guard`` version (from ``register_guard``).
        test_data: the held-out JSONL it was evaluated on (the smoke rows come from here).
        evaluation: its evaluation folder; ``predictions.jsonl`` gives the expected verdict
            and P(不安全) of every smoke row.
        rollout: output JSON: served, version, previous version, reason, smoke mismatches,
            warnings, the timed steps and the mode (``cluster``: the Serve instance of
            ``LIBRA_RAY_ADDRESS``; ``ephemeral``: a temporary local Ray head).
        serving_config: ``serving.config.ServingConfig`` fields; empty: the defaults.
        http_host: where the service listens (used when Serve is started here).
        http_port: its port.
        smoke_size: how many evaluated rows to replay on the new version.
        smoke_margin: rows whose evaluated P(不安全) is this close to the threshold are not
            replayed (numeric noise may flip them).
        smoke_tolerance: how far a served P(不安全) may be from the evaluated one.
        parent_run_id: the pipeline run's MLflow parent run; the outcome is logged there as
            the ``deploy_guard`` stage when given.

    Returns:
        ``served``: whether the version now serves (and is champion); ``reason``: why not.
    """
    from collections import namedtuple

    from serving.config import parse_serving_config
    from serving.rollout.deploy import deploy_step

    result, mode = deploy_step(
        version,
        test_data.path,
        evaluation.path,
        rollout.path,
        config=parse_serving_config(serving_config, where="serving_config"),
        host=http_host,
        port=http_port,
        smoke=(smoke_size, smoke_margin, smoke_tolerance),
        parent_run_id=parent_run_id,
    )
    rollout.metadata.update({"served": result.served, "version": version, "mode": mode})
    return namedtuple("DeployOutputs", ["served", "reason"])(result.served, result.reason)
