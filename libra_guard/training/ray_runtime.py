"""Join the Ray cluster named by ``LIBRA_RAY_ADDRESS``, or start a local head once.

``ray.init`` is idempotent here: a process that already initialised Ray (a test session, the
demo) keeps its instance.

The local head starts WITH its dashboard process, bound to 127.0.0.1 on a free port: Ray
Train V2's placement-group cleaner polls the state API, which the dashboard process serves;
without it every run floods the console with "Failed to query Ray Train Controller actor
state" warnings. It costs ~4 s of start-up.
"""

from __future__ import annotations

import socket

import ray

from libra_guard.errors import ConfigError
from libra_guard.settings import Settings


def ensure_ray(settings: Settings | None = None, *, metrics_export_port: int | None = None) -> None:
    """Initialise Ray for this process unless it already is.

    ``metrics_export_port`` is where a local head serves Prometheus metrics (unset: Ray picks
    a free port); it has no effect on a cluster this process joins.

    Raises:
        ConfigError: ``LIBRA_RAY_ADDRESS`` is set but no cluster answers there.
    """
    if ray.is_initialized():
        return
    settings = settings or Settings()
    if settings.ray_address:
        try:
            ray.init(address=settings.ray_address, log_to_driver=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"cannot join the Ray cluster at LIBRA_RAY_ADDRESS={settings.ray_address}: {exc}"
            ) from exc
        return
    ray.init(
        include_dashboard=True,
        dashboard_host="127.0.0.1",
        dashboard_port=_free_port(),
        log_to_driver=True,
        _metrics_export_port=metrics_export_port,
    )


def node_metrics_port() -> int | None:
    """The Prometheus port of this process's Ray node, or None when Ray reports none."""
    node_id = ray.get_runtime_context().get_node_id()
    for node in ray.nodes():
        if node.get("NodeID") == node_id:
            return node.get("MetricsExportPort")
    return None


def _free_port() -> int:
    """A port nobody listens on now (two local heads on one machine must not collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
