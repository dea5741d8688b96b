"""Start the guard service on a Ray head and stop it again: what ``libra-guard serve`` does.

``start_service`` joins ``LIBRA_RAY_ADDRESS`` (or starts a local head), starts Serve on
``host:port`` and rolls the model in (its replicas get the pinned registry URI and download
the version on their own nodes) with the same procedure as a pipeline rollout (so a
service that already runs another version switches without dropping requests).
``RunningService.stop`` removes the applications, and shuts down Serve and Ray only if this
process started them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from libra_guard.errors import ModelError
from libra_guard.settings import Settings
from serving.auth import server_api_key
from serving.config import ServingConfig
from serving.model_source import target_of
from serving.rollout.base import ModelTarget, RolloutResult, roll_out
from serving.rollout.local import LocalServeRollout, replica_env

logger = logging.getLogger(__name__)


@dataclass
class RunningService:
    """A started guard service."""

    url: str
    target: ModelTarget
    result: RolloutResult
    ray_address: str
    started_ray: bool
    rollout: LocalServeRollout
    #: Where this node's Ray exports Prometheus metrics (the guard's among them).
    metrics_url: str | None = None

    def stop(self) -> None:
        """Remove the guard applications; shut down Serve and Ray if this process started Ray."""
        import ray

        if self.started_ray:
            # The head's shutdown takes Serve and the applications with it, at once;
            # serve.shutdown() first would wait for every replica's graceful drain.
            ray.shutdown()
            return
        try:
            self.rollout.stop()
        except Exception as exc:
            logger.warning("could not remove the guard applications: %s", exc)


def start_service(
    model: str,
    config: ServingConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: Settings | None = None,
    metrics_port: int | None = None,
) -> RunningService:
    """Serve ``model`` (a folder or ``models:/`` URI) at ``http://host:port``.

    ``metrics_port``: the Prometheus port of a Ray head this call starts; a joined cluster
    keeps its own, which ``RunningService.metrics_url`` names either way.

    Raises:
        ModelError: the model cannot be resolved or did not start (the reason says why).
        ConfigError: ``LIBRA_RAY_ADDRESS`` names no reachable cluster, or auth is required
            (``host`` is not loopback) and ``LIBRA_API_KEY`` is empty.
    """
    import ray

    from libra_guard.training.ray_runtime import ensure_ray, node_metrics_port

    settings = settings or Settings()
    # Refused here, before anything starts, when auth is required and the key is empty.
    server_api_key(host, config.auth_required)
    # Nothing is downloaded here: replicas resolve the pinned URI on their own nodes.
    target = target_of(model, tracking_uri=settings.tracking_uri)
    started_ray = not ray.is_initialized() and not settings.ray_address
    ensure_ray(settings, metrics_export_port=metrics_port)
    exported = node_metrics_port()
    rollout = LocalServeRollout(config, host=host, port=port, replica_env=replica_env(settings))
    service = RunningService(
        url=rollout.url,
        target=target,
        result=RolloutResult(served=False, version=target.version),
        ray_address=ray.get_runtime_context().gcs_address,
        started_ray=started_ray,
        rollout=rollout,
        metrics_url=f"http://127.0.0.1:{exported}/metrics" if exported else None,
    )
    try:
        rollout.start_serve()
        service.result = roll_out(rollout, target, [])
    except BaseException:
        service.stop()
        raise
    if not service.result.served:
        service.stop()
        raise ModelError(f"{model} did not start serving: {service.result.reason}")
    return service
