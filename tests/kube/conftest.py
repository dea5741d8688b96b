"""Fixtures for the cluster-mode tests. No Kubernetes API server, KubeRay operator or Ray
cluster in Kubernetes can run here: ``fake_kube`` (tests/conftest.py) stands in for the API
server, ``KubeRayPlayer`` for the operator, ``FakeRayDashboard`` for a RayJob cluster's
dashboard, and moto for MinIO."""

from __future__ import annotations

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


@pytest.fixture
def artifact_bucket(s3_bucket: str) -> str:
    """A fresh bucket on the session's S3 stand-in, with LIBRA_S3_* pointing at it."""
    return s3_bucket
