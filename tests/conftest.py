"""Fixtures shared by every test folder."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
JADE_MEDIUM = SHARED_DIR / "data" / "jade-v3-medium.jsonl"
PROTOCOL_REFERENCE = SHARED_DIR / "reference" / "libra-protocol.md"


@pytest.fixture(scope="session")
def jade_medium_path() -> Path:
    """The real JADE v3 medium set beside the checkout; tests using it skip where it is absent."""
    if not JADE_MEDIUM.is_file():
        pytest.skip(f"external data {JADE_MEDIUM} is absent (it lives in ../shared/data)")
    return JADE_MEDIUM


#: Fixtures that start an engine, and the marker they give every test using them (directly or
#: through another fixture). ``make test-fast`` deselects these markers and ``slow``.
ENGINE_FIXTURES = {
    "ray_address": "ray",
    "pipeline_runs": "kfp",
    "project_image": "image",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the engines their fixtures start, so the fast tier needs no list of
    files: a new test that takes ``ray_address`` leaves ``make test-fast`` by itself."""
    for item in items:
        used = getattr(item, "fixturenames", ())
        for fixture, marker in ENGINE_FIXTURES.items():
            if fixture in used:
                item.add_marker(marker)


@pytest.fixture(scope="session")
def ray_address():
    """A private local Ray head (own temp dir, free ports), started once per session.

    ``address="local"`` always starts a new head: with no address, ``ray.init`` would join
    whatever ``RAY_ADDRESS`` names (ray/_private/services.py, ``canonicalize_bootstrap_address``
    and ``get_ray_address_from_environment``), so a Ray of a ``make demo`` or of the user's
    shell could receive the tests' work. The dashboard process runs because Ray Train's
    placement-group cleaner polls the state API it serves (see ``ray_runtime``).
    """
    ray = pytest.importorskip("ray")
    from libra_guard.training.ray_runtime import free_port as _free_port

    temp_dir = tempfile.mkdtemp(prefix="lgray-", dir="/tmp")
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=True,
            dashboard_host="127.0.0.1",
            dashboard_port=_free_port(),
            _temp_dir=temp_dir,
            log_to_driver=True,
        )
    yield ray.get_runtime_context().gcs_address
    if started_here:
        ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture
def fake_kube():
    """An in-process stand-in for a Kubernetes API server (``tests/fakes/kube_api.py``) with
    the namespace ``ml``; no real API server can run where these tests run."""
    from tests.fakes.kube_api import FakeKubeApi

    with FakeKubeApi() as api:
        api.add_namespace("ml")
        yield api


def _free_local_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An S3 API on 127.0.0.1 (moto's threaded server) standing in for MinIO, one per
    test session."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = _free_local_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket, with the LIBRA_S3_* settings pointing at the moto server."""
    import boto3

    monkeypatch.setenv("LIBRA_S3_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("LIBRA_S3_ACCESS_KEY", "testing")
    monkeypatch.setenv("LIBRA_S3_SECRET_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"libra-{_free_local_port()}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    return bucket
