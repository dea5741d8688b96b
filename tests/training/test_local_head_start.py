"""``ensure_ray`` starts a local head again once when the first start dies, and then gives up
with a one-line ``ConfigError``; each failed attempt is shut down before the next.

``ray.init`` is replaced by a recorder: what is under test is our retry, not Ray's start-up
(the Ray-marked tests start real heads through the same function)."""

from __future__ import annotations

import logging

import pytest
import ray

from libra_guard.errors import ConfigError
from libra_guard.settings import Settings
from libra_guard.training import ray_runtime


class _Starts:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[str] = []

    def init(self, **kwargs) -> None:
        self.calls.append("init")
        if self.failures:
            self.failures -= 1
            raise RuntimeError("raylet exited: WaitForDashboardAgentPorts timed out")

    def shutdown(self) -> None:
        self.calls.append("shutdown")


@pytest.fixture
def starts(monkeypatch):
    def install(failures: int) -> _Starts:
        recorder = _Starts(failures)
        monkeypatch.setattr(ray, "is_initialized", lambda: False)
        monkeypatch.setattr(ray, "init", recorder.init)
        monkeypatch.setattr(ray, "shutdown", recorder.shutdown)
        return recorder

    return install


def test_a_head_that_dies_at_start_is_started_again(starts, caplog):
    recorder = starts(failures=1)
    with caplog.at_level(logging.WARNING, logger=ray_runtime.__name__):
        ray_runtime.ensure_ray(Settings(ray_address=None))
    assert recorder.calls == ["init", "shutdown", "init"]
    assert "starting it again" in caplog.text


def test_a_head_that_keeps_dying_is_a_config_error(starts):
    recorder = starts(failures=ray_runtime.LOCAL_HEAD_ATTEMPTS)
    with pytest.raises(ConfigError, match="could not start a local Ray head in 2 attempts"):
        ray_runtime.ensure_ray(Settings(ray_address=None))
    assert recorder.calls == ["init", "shutdown"] * ray_runtime.LOCAL_HEAD_ATTEMPTS


def test_a_named_cluster_that_does_not_answer_is_not_retried(starts):
    recorder = starts(failures=5)
    with pytest.raises(ConfigError, match="cannot join the Ray cluster"):
        ray_runtime.ensure_ray(Settings(ray_address="127.0.0.1:1"))
    assert recorder.calls == ["init"]
