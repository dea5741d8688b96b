"""Fixtures for the cluster-mode tests. No Kubernetes API server, KubeRay operator or Ray
cluster in Kubernetes can run here: ``fake_kube`` (tests/conftest.py) stands in for the API
server, ``KubeRayPlayer`` for the operator, ``FakeRayDashboard`` for a RayJob cluster's
dashboard, and moto for MinIO."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from libra_guard.kube.follow import RayJobRunner
from libra_guard.kube.ray_dashboard import RayJobDashboard
from tests.fakes.ray_dashboard import FakeRayDashboard

#: Fast clocks: the follower polls every 20 ms and gives Ray 0.3 s to catch up.
POLL_S = 0.02
RAY_GRACE_S = 0.3


@pytest.fixture
def dashboard() -> Iterator[FakeRayDashboard]:
    with FakeRayDashboard() as fake:
        yield fake


class CapturedLog(list):
    """The step's log: every line the follower printed."""

    def __call__(self, line: str) -> None:
        self.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self)


@pytest.fixture
def step_log() -> CapturedLog:
    return CapturedLog()


@pytest.fixture
def runner(fake_kube, step_log: CapturedLog) -> RayJobRunner:
    """A follower on the fake API server's namespace ``ml`` with fast clocks."""
    return RayJobRunner(
        fake_kube.api_client(),
        "ml",
        log=step_log,
        poll_s=POLL_S,
        ray_grace_s=RAY_GRACE_S,
        api_grace_s=1.0,
        dashboard_factory=lambda job_id, log: RayJobDashboard(
            job_id, log, prefix="  | ", call_timeout_s=2.0
        ),
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An S3 API on 127.0.0.1 (moto's threaded server) standing in for MinIO."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = _free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def artifact_bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket, with the LIBRA_S3_* settings pointing at the moto server."""
    import boto3

    monkeypatch.setenv("LIBRA_S3_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("LIBRA_S3_ACCESS_KEY", "testing")
    monkeypatch.setenv("LIBRA_S3_SECRET_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"artifacts-{_free_port()}"
    boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    return bucket
