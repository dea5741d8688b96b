"""The RayJob entrypoint joins only the Ray cluster that runs it, never another Ray head on
the machine through address "auto"."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from libra_guard.errors import ConfigError
from libra_guard.training.stage_job import own_cluster_address


@pytest.mark.parametrize("given", [None, "", "auto"])
def test_without_its_own_address_the_job_refuses(monkeypatch, given) -> None:
    if given is None:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("RAY_ADDRESS", given)
    with pytest.raises(ConfigError, match="never joins another Ray"):
        own_cluster_address()


def test_the_job_does_not_join_a_ray_head_running_nearby(ray_address, tmp_path) -> None:
    # ray_address: a Ray head runs on this machine. A stage_job started outside Ray's job
    # manager must refuse before it reads anything, instead of joining that head.
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    answer = subprocess.run(
        [sys.executable, "-m", "libra_guard.training.stage_job", "--spec", "s3://b/spec.json"],
        env={**env, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 1
    assert "RAY_ADDRESS" in answer.stderr and "never joins another Ray" in answer.stderr
    assert "Ray cluster of" not in answer.stdout
