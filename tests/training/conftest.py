"""One Ray instance for all training tests, and synthetic rows to train on."""

from __future__ import annotations

import shutil
import tempfile

import pytest

from libra_guard.data.schema import GuardRow


@pytest.fixture(scope="session")
def ray_address():
    """A private local Ray head (own temp dir, free ports), started once per session.

    The dashboard process runs because Ray Train's placement-group cleaner polls the state
    API it serves (see ``ray_runtime``).
    """
    ray = pytest.importorskip("ray")
    from libra_guard.training.ray_runtime import _free_port

    temp_dir = tempfile.mkdtemp(prefix="lgray-", dir="/tmp")
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
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


@pytest.fixture(scope="session")
def synth_rows() -> list[GuardRow]:
    from libra_guard.data.synth import generate

    return generate(64, seed=3).rows
