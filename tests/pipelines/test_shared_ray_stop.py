"""A stopped ``libra-guard run`` takes its Ray head with it.

The head runs in its own session (so Ctrl-C in a terminal does not hit it mid-cleanup); a
SIGTERM to the run must therefore stop it explicitly, or it outlives the run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from libra_guard.settings import Settings
    from libra_guard.training.ray_runtime import local_ray_head

    with local_ray_head(Settings(), print):
        print("ADDRESS", os.environ["LIBRA_RAY_ADDRESS"], flush=True)
        time.sleep(600)
    """
)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 1):
            return True
    except OSError:
        return False


def test_sigterm_stops_the_ray_head_the_run_started(tmp_path) -> None:
    env = {**os.environ, "LIBRA_STATE_DIR": str(tmp_path)}
    env.pop("LIBRA_RAY_ADDRESS", None)
    run = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        port = None
        for line in run.stdout:
            if line.startswith("ADDRESS"):
                port = int(line.split(":")[-1])
                break
        assert port and _answers(port), "the run never reported a live Ray head"

        run.send_signal(signal.SIGTERM)
        run.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _answers(port) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _answers(port), "the Ray head outlived the stopped run"
    finally:
        if run.poll() is None:
            run.kill()
