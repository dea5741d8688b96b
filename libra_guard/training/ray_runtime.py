"""The one place that starts or joins Ray on this machine, with the one free-port helper.

- ``ensure_ray``: join the Ray cluster named by ``LIBRA_RAY_ADDRESS``, or start an in-process
  local head once. ``ray.init`` is idempotent here: a process that already initialised Ray (a
  test session, the demo) keeps its instance.
- ``local_ray_head``: a separate ``ray start --head`` process that several step processes
  join (``libra-guard run``), stopped with the block.

A local head starts WITH its dashboard process, bound to 127.0.0.1 on a free port: Ray Train
V2's placement-group cleaner polls the state API, which the dashboard process serves; without
it every run floods the console with "Failed to query Ray Train Controller actor state"
warnings. It costs ~4 s of start-up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from libra_guard.errors import ConfigError
from libra_guard.settings import Settings
from libra_guard.signals import sigterm_raises

logger = logging.getLogger(__name__)
#: A loaded machine sometimes loses a head at start (the raylet gives up waiting for the
#: dashboard agent's ports and exits); one more start is worth trying before giving up.
LOCAL_HEAD_ATTEMPTS = 2


def ensure_ray(settings: Settings | None = None, *, metrics_export_port: int | None = None) -> None:
    """Initialise Ray for this process unless it already is.

    ``metrics_export_port`` is where a local head serves Prometheus metrics (unset: Ray picks
    a free port); it has no effect on a cluster this process joins.

    Raises:
        ConfigError: ``LIBRA_RAY_ADDRESS`` is set but no cluster answers there, or a local
            head failed to start ``LOCAL_HEAD_ATTEMPTS`` times.
    """
    import ray

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
    for attempt in range(1, LOCAL_HEAD_ATTEMPTS + 1):
        try:
            ray.init(
                include_dashboard=True,
                dashboard_host="127.0.0.1",
                dashboard_port=free_port(),
                log_to_driver=True,
                _metrics_export_port=metrics_export_port,
            )
            return
        except Exception as exc:  # Ray raises assorted types when a start-up process dies
            ray.shutdown()  # reaps whatever this attempt started
            if attempt == LOCAL_HEAD_ATTEMPTS:
                raise ConfigError(
                    f"could not start a local Ray head in {attempt} attempts: {exc}"
                ) from exc
            logger.warning("local Ray head failed to start (%s); starting it again", exc)


def node_metrics_port() -> int | None:
    """The Prometheus port of this process's Ray node, or None when Ray reports none."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    for node in ray.nodes():
        if node.get("NodeID") == node_id:
            return node.get("MetricsExportPort")
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (two local heads or servers must not collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LocalHead:
    """Where a head started by ``local_ray_head`` answers, and its token."""

    address: str
    dashboard_url: str
    auth_token: str

    def env(self) -> dict[str, str]:
        """What a process needs to join this head (Ray's own variables)."""
        return {
            "RAY_ADDRESS": self.address,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": self.auth_token,
        }


@contextlib.contextmanager
def local_ray_head(
    settings: Settings, log: Callable[[str], None], *, export_env: bool = True
) -> Iterator[LocalHead | None]:
    """Start one local Ray head for the block, unless ``LIBRA_RAY_ADDRESS`` names one (then
    it yields None).

    ``ray start --head --block`` in its own process group: stopping it is a signal to that
    group alone (``ray stop`` would stop every Ray on the machine). With ``export_env``,
    ``RAY_ADDRESS`` and ``LIBRA_RAY_ADDRESS`` are set for the block (and inherited by
    subprocesses), so Ray's own helpers (Ray Train's placement-group cleaner queries the
    state API) never have to guess among other Ray instances on the machine.

    A head started with ``ray start`` records its address in its temp dir
    (``ray_current_cluster``), which is where Ray's job supervisor looks up the address it
    hands each job's driver (``ray/dashboard/modules/job/job_supervisor.py``,
    ``_get_driver_env_vars``). A head of ``ray.init()`` records none, and the supervisor then
    falls back to any GCS process it finds on the machine: another user's Ray.
    """
    if settings.ray_address:
        log(f"steps join the Ray cluster at {settings.ray_address}")
        yield None
        return
    port = free_port()
    dashboard_port = free_port()
    address = f"127.0.0.1:{port}"
    # A short private temp dir: Ray's socket paths must stay under ~107 characters, and
    # another Ray on this machine (the default /tmp/ray) must not be joined or disturbed.
    temp_dir = tempfile.mkdtemp(prefix="lgray-")
    command = [
        str(Path(sys.executable).with_name("ray")),
        "start",
        "--head",
        "--block",
        f"--port={port}",
        "--node-ip-address=127.0.0.1",
        f"--temp-dir={temp_dir}",
        "--include-dashboard=true",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard_port}",
        # The dashboard agent's default port (52365) is taken by any other Ray on the machine;
        # without its own, this head's job and log APIs would not start.
        f"--dashboard-agent-listen-port={free_port()}",
        "--disable-usage-stats",
    ]
    # Token authentication with a token of this run only: the head listens on a TCP port.
    head_info = LocalHead(address, f"127.0.0.1:{dashboard_port}", secrets.token_hex(32))
    ray_env = head_info.env()
    head = subprocess.Popen(
        command,
        env={**os.environ, **ray_env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        # The head runs in its own session: a SIGTERM to this process must still reach it.
        with sigterm_raises():
            _wait_for_port(port, head)
            log(f"started a local Ray head at {address}; every step joins it")
            exported = {**ray_env, "LIBRA_RAY_ADDRESS": address} if export_env else {}
            with environment(exported):
                yield head_info
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_for_port(port: int, head: subprocess.Popen, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise ConfigError(f"the local Ray head exited with code {head.returncode} at start")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.5)
    raise ConfigError(f"the local Ray head did not answer on port {port} in {timeout_s:.0f}s")


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables (inherited by subprocesses) for the block."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
