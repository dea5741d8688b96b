"""Fixtures for the data tests: sample rows and an in-process S3 server (moto)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from libra_guard.data.schema import GuardRow
from tests.data.rows import make_row


@pytest.fixture
def rows() -> list[GuardRow]:
    """Four valid rows, one with an analysis and one with an extra key."""
    return [
        GuardRow(**make_row(1)),
        GuardRow(**make_row(2, analyze="回答提供了违法方法。")),
        GuardRow(**make_row(3, source="Synthetic Data", category_name="隐私财产")),
        GuardRow(**make_row(4, model="qwen")),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An honest S3 API on 127.0.0.1 (moto's threaded server), one per test session."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = _free_port()
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
    bucket = f"libra-{_free_port()}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    return bucket
