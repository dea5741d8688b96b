"""``deploy_registered``: roll a registered version into the local Serve instance, smoke it
against its own evaluation, move ``champion`` only once it serves, and record the outcome.

Where it serves:

- ``LIBRA_RAY_ADDRESS`` set (or Ray already initialised in this process): the Serve
  instance of that cluster, e.g. the one ``libra-guard serve`` runs. The old version keeps
  serving until the new one is proven.
- neither: a temporary local Ray head for this call only (``mode: ephemeral``). The version is
  still started, smoked and answered over HTTP before ``champion`` moves, so ``champion`` only
  ever names a version that served; ``libra-guard serve`` then serves it for good.

The outcome is written as tags on the model version (``libra.rollout.status``,
``libra.rollout.reason``) so the registry alone says why a version is or is not champion.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from libra_guard.data.schema import GuardRow
from libra_guard.settings import Settings
from libra_guard.tracking import registry
from libra_guard.tracking.store import client
from serving.config import ServingConfig
from serving.model_source import describe_registered
from serving.rollout.base import ModelTarget, RolloutResult, roll_out
from serving.rollout.local import LocalServeRollout
from serving.rollout.smoke import smoke_set_from_evaluation

logger = logging.getLogger(__name__)

STATUS_TAG = "libra.rollout.status"
REASON_TAG = "libra.rollout.reason"


def deploy_registered(
    version: str,
    test_rows: Sequence[GuardRow],
    predictions: Sequence[Mapping],
    *,
    config: ServingConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    smoke_size: int = 16,
    smoke_margin: float = 0.05,
    smoke_tolerance: float = 0.05,
    drain_s: float = 2.0,
    tracking_uri: str | None = None,
) -> tuple[RolloutResult, str]:
    """Roll out ``libra-guard`` version ``version``; returns the result and the mode
    (``cluster`` or ``ephemeral``).

    ``smoke_margin``: evaluated scores this close to the threshold are not smoke items;
    ``smoke_tolerance``: how far a served score may be from the evaluated one.

    Raises:
        ModelError: the version does not exist in the registry.
        DataError: the evaluation gives no usable smoke item.
    """
    import ray

    from libra_guard.training.ray_runtime import ensure_ray

    config = config or ServingConfig()
    smoke = smoke_set_from_evaluation(
        test_rows, predictions, size=smoke_size, threshold=config.threshold, margin=smoke_margin
    )
    folder = registry.download_model(
        f"models:/{registry.MODEL_NAME}/{version}", tracking_uri=tracking_uri
    )
    description = describe_registered(registry.lineage(version, tracking_uri=tracking_uri), folder)
    target = ModelTarget(
        name=description.name,
        version=description.version,
        model=str(folder),
        aliases=tuple(description.aliases),
        lineage=description.lineage,
    )
    ephemeral = not ray.is_initialized() and not Settings().ray_address
    ensure_ray()
    mode = "ephemeral" if ephemeral else "cluster"
    rollout = LocalServeRollout(config, host=host, port=port)
    try:
        rollout.start_serve()

        def promote(serving_target: ModelTarget) -> ModelTarget:
            registry.set_alias(serving_target.version, registry.CHAMPION, tracking_uri=tracking_uri)
            return serving_target.with_alias(registry.CHAMPION)

        result = roll_out(
            rollout,
            target,
            smoke,
            on_serving=promote,
            threshold=config.threshold,
            tolerance=smoke_tolerance,
            drain_s=drain_s,
        )
    finally:
        if ephemeral:
            ray.shutdown()
    record_outcome(result, mode, tracking_uri=tracking_uri)
    return result, mode


def record_outcome(result: RolloutResult, mode: str, *, tracking_uri: str | None = None) -> None:
    """Tag the model version with the rollout's status and reason."""
    status = "serving" if result.served else "failed"
    if result.served and mode == "ephemeral":
        status = "served-ephemeral"
    mlflow_client = client(tracking_uri)
    mlflow_client.set_model_version_tag(registry.MODEL_NAME, result.version, STATUS_TAG, status)
    mlflow_client.set_model_version_tag(
        registry.MODEL_NAME, result.version, REASON_TAG, (result.reason or "ok")[:5000]
    )
