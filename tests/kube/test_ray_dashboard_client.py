"""The follower's reader of a Ray job's dashboard: bounded calls that leave nothing behind,
and the Ray cluster's auth token sent with each call."""

from __future__ import annotations

import socket
import threading
import time

from libra_guard.kube.ray_dashboard import RAY_TOKEN_ENV, RayJobDashboard
from tests.fakes.ray_dashboard import FakeRayDashboard


class SilentServer:
    """Accepts connections and never answers: a dashboard that hangs."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.listen(64)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"

    def close(self) -> None:
        self._socket.close()


def test_timed_out_calls_leave_no_thread_behind() -> None:
    server = SilentServer()
    try:
        before = threading.active_count()
        dashboard = RayJobDashboard("job", lambda line: None, call_timeout_s=0.2)
        started = time.monotonic()
        for _ in range(5):
            assert dashboard.poll(server.address) is None
            assert "time" in dashboard.last_error.lower(), dashboard.last_error
        assert time.monotonic() - started < 10
        assert threading.active_count() <= before, "a thread per timed-out call leaked"
    finally:
        server.close()


def test_the_token_goes_with_every_call(monkeypatch) -> None:
    with FakeRayDashboard(token="s3cret") as fake:
        fake.set_job("job", "RUNNING")
        monkeypatch.delenv(RAY_TOKEN_ENV, raising=False)
        refused = RayJobDashboard("job", lambda line: None, call_timeout_s=5)
        assert refused.poll(fake.address) is None
        monkeypatch.setenv(RAY_TOKEN_ENV, "s3cret")
        allowed = RayJobDashboard("job", lambda line: None, call_timeout_s=5)
        view = allowed.poll(fake.address)
        assert view is not None and view.status == "RUNNING"
