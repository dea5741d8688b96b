"""The registry behind MLflow's basic-auth app: a real ``mlflow server --app-name basic-auth``
on SQLite, configured as the libra-platform chart configures it (``default_permission =
NO_PERMISSIONS``, admin credentials from the environment, as the chart's Secret supplies them).

Anonymous and wrongly authenticated registry writes are refused with 401; our registry code,
given ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` (what the pipeline and guard pods
get from the Secret), registers and resolves a version; ``/health`` (the chart's probes) stays open.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from libra_guard.errors import ModelError
from libra_guard.tracking.registry import (
    CHALLENGER,
    alias_version,
    log_and_register,
    resolve_version,
)

USER = "libra-platform"
PASSWORD = "a-generated-password-0123456789"
#: What the chart's ConfigMap holds (charts/libra-platform/templates/mlflow-auth.yaml), but SQLite.
AUTH_INI = """[mlflow]
default_permission = NO_PERMISSIONS
database_uri = sqlite:///{database}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = false
"""
CREATE_MODEL = "/api/2.0/mlflow/registered-models/create"
START_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """Base URL of a running basic-auth MLflow server; stopped after the module."""
    folder = tmp_path_factory.mktemp("mlflow-auth")
    config = folder / "basic_auth.ini"
    config.write_text(AUTH_INI.format(database=folder / "auth.db"), encoding="utf-8")
    port = _free_port()
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "MLFLOW_AUTH_ADMIN_USERNAME": USER,
        "MLFLOW_AUTH_ADMIN_PASSWORD": PASSWORD,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "csrf-key-for-the-test",
    }
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        env.pop(name, None)
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--app-name",
            "basic-auth",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--serve-artifacts",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its uvicorn workers stop with it (killpg below)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"mlflow server exited: {Path(log.name).read_text()[-2000:]}")
            try:
                # The probes' path: open without credentials.
                if requests.get(f"{url}/health", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass  # not listening yet, or too busy migrating to answer
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not up in {START_TIMEOUT_S}s")
            time.sleep(1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_anonymous_registry_write_is_refused(auth_server):
    response = requests.post(f"{auth_server}{CREATE_MODEL}", json={"name": "intruder"}, timeout=30)
    assert response.status_code == 401


def test_wrong_password_is_refused(auth_server):
    response = requests.post(
        f"{auth_server}{CREATE_MODEL}",
        json={"name": "intruder"},
        auth=(USER, "not-the-password"),
        timeout=30,
    )
    assert response.status_code == 401


def test_registry_code_registers_with_credentials_from_env(auth_server, tiny_guard, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", USER)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    registered = log_and_register(tiny_guard, {"gate_decision": "pass"}, tracking_uri=auth_server)
    assert alias_version(CHALLENGER, tracking_uri=auth_server) == registered.version

    assert resolve_version(registered.version, tracking_uri=auth_server) == registered.version

    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-password")
    with pytest.raises(ModelError, match="not authenticated"):
        resolve_version(registered.version, tracking_uri=auth_server)
    # Through an alias too (the gate, register and rollout steps read the champion so): a
    # one-line ModelError, not MLflow's raw exception, and never "no such alias".
    with pytest.raises(ModelError, match=r"alias 'challenger'.*not authenticated"):
        alias_version(CHALLENGER, tracking_uri=auth_server)
