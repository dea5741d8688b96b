"""``deploy_registered``: roll a registered version into the guard service, smoke it against
its own evaluation, move ``champion`` only once it serves, and record the outcome.

Where it serves (``Settings().serving_backend`` and the Ray connection decide; the steps, the
smoke set, the alias move and the record are the same everywhere):

- ``serving_backend: rayservice`` (``mode: rayservice``): the KubeRay RayService
  ``rayservice_name``, by editing its ``serveConfigV2`` (``rayservice.RayServiceRollout``). The
  new model application gets the registry URI ``models:/libra-guard/<version>``, which the
  cluster's replicas resolve through their own ``MLFLOW_TRACKING_URI``; nothing is downloaded
  here.
- ``LIBRA_RAY_ADDRESS`` set (or Ray already initialised in this process): the Serve
  instance of that cluster, e.g. the one ``libra-guard serve`` runs. The old version keeps
  serving until the new one is proven. Here too replicas get the pinned registry URI and
  download the version on their own nodes.
- neither: a temporary local Ray head for this call only (``mode: ephemeral``). The version is
  still started, smoked and answered over HTTP before ``champion`` moves, so ``champion`` only
  ever names a version that served; ``libra-guard serve`` then serves it for good.

The outcome is written as tags on the model version (``libra.rollout.status``,
``libra.rollout.reason``) so the registry alone says why a version is or is not champion.

Promotions never race (``libra_guard.promotion.lock`` and ``champion``): the rollout holds the
promotion lock (a file lock beside the registry, or a Kubernetes Lease with a RayService) from
its first check of ``champion`` to the alias move, and the alias moves only if ``champion``
still names the version the gate compared the challenger with. When it does not, nothing is
deployed (or traffic goes back), the reason is recorded and ``ChampionMovedError`` fails the
step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from libra_guard.atomic import write_file_atomic
from libra_guard.data.io import read_rows
from libra_guard.data.schema import GuardRow
from libra_guard.evaluation.outputs import read_predictions
from libra_guard.promotion.champion import (
    ChampionMovedError,
    check_champion,
    compared_champion,
    move_champion,
)
from libra_guard.promotion.lock import promotion_lock
from libra_guard.settings import Settings
from libra_guard.tracking import registry, runs
from libra_guard.tracking.store import client, resolve_tracking_uri
from serving.config import ServingConfig
from serving.rollout.base import ModelTarget, Rollout, RolloutResult, roll_out
from serving.rollout.local import LocalServeRollout, replica_env
from serving.rollout.rayservice import RayServiceRollout
from serving.rollout.smoke import SmokeItem, smoke_set_from_evaluation

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
    (``rayservice``, ``cluster`` or ``ephemeral``).

    ``smoke_margin``: evaluated scores this close to the threshold are not smoke items;
    ``smoke_tolerance``: how far a served score may be from the evaluated one. ``host`` and
    ``port``: where a local Serve instance listens (not used with a RayService).

    Raises:
        ChampionMovedError: ``champion`` no longer names the version the gate compared this
            one with (another run promoted meanwhile); recorded on the version first.
        PromotionLockError: another promotion held the lock too long.
        ModelError: the version does not exist in the registry.
        DataError: the evaluation gives no usable smoke item.
        RolloutError: the service cannot be read (e.g. the RayService is missing, or the
            service account may not read it).
    """
    config = config or ServingConfig()
    smoke = smoke_set_from_evaluation(
        test_rows, predictions, size=smoke_size, threshold=config.threshold, margin=smoke_margin
    )
    settings = Settings()
    options = {"threshold": config.threshold, "tolerance": smoke_tolerance, "drain_s": drain_s}
    mode = "rayservice" if settings.serving_backend == "rayservice" else "local"
    try:
        if mode == "rayservice":
            target = _registered_target(version, tracking_uri)
            rollout = RayServiceRollout.from_settings(settings, config)
            result = roll_out_registered(
                rollout, target, smoke, tracking_uri=tracking_uri, **options
            )
        else:
            result, mode = _roll_out_on_ray(
                version, smoke, config, host, port, tracking_uri, options
            )
    except ChampionMovedError as exc:
        failed = RolloutResult(served=False, version=str(version), reason=str(exc))
        record_outcome(failed, mode, tracking_uri=tracking_uri)
        raise
    record_outcome(result, mode, tracking_uri=tracking_uri)
    return result, mode


def deploy_step(
    version: str,
    test_data: str | Path,
    evaluation: str | Path,
    record: str | Path,
    *,
    config: ServingConfig,
    host: str,
    port: int,
    smoke: tuple[int, float, float],
    parent_run_id: str = "",
    log=print,
) -> tuple[RolloutResult, str]:
    """The pipeline's ``deploy_guard`` step: ``deploy_registered`` with the smoke set from
    the evaluation folder, the outcome written as JSON to ``record`` and logged as the
    ``deploy_guard`` stage of ``parent_run_id`` (when given).

    ``smoke``: (size, margin, tolerance) as ``deploy_registered`` takes them.
    """
    size, margin, tolerance = smoke
    result, mode = deploy_registered(
        version,
        read_rows(test_data),
        read_predictions(Path(evaluation)),
        config=config,
        host=host,
        port=port,
        smoke_size=size,
        smoke_margin=margin,
        smoke_tolerance=tolerance,
    )
    content = {**result.to_dict(), "mode": mode}
    write_file_atomic(record, json.dumps(content, ensure_ascii=False, indent=2))
    if parent_run_id:
        runs.log_stage(
            parent_run_id,
            "deploy_guard",
            params={"version": version, "mode": mode, "smoke_size": size},
            metrics={"served": float(result.served), "rollout_seconds": result.seconds},
            tags={"libra.rollout.reason": (result.reason or "ok")[:5000]},
        )
    for step in result.steps:
        log(step)
    if result.served:
        log(f"version {version} serves ({mode}); champion moved to it")
    else:
        log(f"version {version} NOT deployed; the old version keeps serving: {result.reason}")
    return result, mode


def _roll_out_on_ray(
    version: str,
    smoke: Sequence[SmokeItem],
    config: ServingConfig,
    host: str,
    port: int,
    tracking_uri: str | None,
    options: dict,
) -> tuple[RolloutResult, str]:
    """On the Serve instance of the Ray cluster joined (``cluster``) or a temporary local
    head (``ephemeral``)."""
    import ray

    from libra_guard.training.ray_runtime import ensure_ray

    target = _registered_target(version, tracking_uri)
    settings = Settings()
    ephemeral = not ray.is_initialized() and not settings.ray_address
    ensure_ray(settings)
    mode = "ephemeral" if ephemeral else "cluster"
    env = replica_env(settings)
    if tracking_uri:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    rollout = LocalServeRollout(config, host=host, port=port, replica_env=env)
    try:
        rollout.start_serve()
        return roll_out_registered(
            rollout, target, smoke, tracking_uri=tracking_uri, **options
        ), mode
    finally:
        if ephemeral:
            ray.shutdown()


def _registered_target(version: str, tracking_uri: str | None) -> ModelTarget:
    """``version`` served from its pinned registry URI, which every replica resolves on its
    own node; nothing is downloaded here."""
    model = registry.describe(version, tracking_uri=tracking_uri)
    return ModelTarget(model, model.uri)


def roll_out_registered(
    rollout: Rollout,
    target: ModelTarget,
    smoke: Sequence[SmokeItem],
    *,
    tracking_uri: str | None = None,
    **options,
) -> RolloutResult:
    """``roll_out`` under the promotion lock that moves ``champion`` to ``target`` once it
    serves, if ``champion`` still names the version the gate compared it with.

    Raises:
        ChampionMovedError: before deploying, or at the alias move (after traffic went back).
    """
    tracking = resolve_tracking_uri(tracking_uri)
    recorded, expected = compared_champion(target.version, tracking_uri=tracking)
    moved: list[ChampionMovedError] = []
    with promotion_lock(Settings(), tracking) as lock:
        if not recorded:
            # Registered outside the pipeline: no gate comparison to hold it to, so the
            # champion found now is the one the rollout must not race past.
            expected = registry.alias_version(registry.CHAMPION, tracking_uri=tracking)
        check_champion(target.version, expected, tracking_uri=tracking)

        def promote(serving_target: ModelTarget) -> ModelTarget:
            lock.ensure_held()
            try:
                move_champion(serving_target.version, expected, tracking_uri=tracking)
            except ChampionMovedError as exc:
                moved.append(exc)
                raise
            return serving_target.with_alias(registry.CHAMPION)

        result = roll_out(rollout, target, smoke, on_serving=promote, **options)
    if moved:
        raise moved[0]
    if not recorded:
        result.warnings.append(
            f"v{target.version} records no gate comparison; champion was checked against "
            f"{'v' + expected if expected else 'no champion'} as found when the rollout began"
        )
    return result


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
