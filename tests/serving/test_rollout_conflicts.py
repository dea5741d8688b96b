"""Two ways a rollout could leave the service worse than it found it: overwriting a Serve
config someone else changed meanwhile, and a failed switch-back that retired the API app and
left nothing serving."""

from __future__ import annotations

import copy

import pytest

from serving.config import ServingConfig
from serving.rollout.base import ModelTarget, RolloutError, roll_out
from serving.rollout.local import LocalServeRollout
from serving.rollout.serve_config import api_app_config, model_app_of
from tests.serving.test_rollout_logic import NEW, SMOKE, FakePlatform


class SwitchBackFails(FakePlatform):
    """Traffic reaches the new version but it never confirms, and switching back fails."""

    def switch(self, app_name: str) -> None:
        if self.traffic is not None and app_name != NEW.app_name:
            self.log.append(f"switch {app_name}")
            raise RolloutError("the dashboard went away")
        super().switch(app_name)

    def confirm_serving(self, target: ModelTarget) -> None:
        self._step("confirm")
        raise RolloutError("the public endpoint still reports v1")


def test_a_failed_switch_back_keeps_the_version_that_gets_the_traffic() -> None:
    platform = SwitchBackFails("libra-guard-v1", [0.9, 0.1])
    moved: list[str] = []
    result = roll_out(platform, NEW, SMOKE, on_serving=lambda t: moved.append(t.version), drain_s=0)
    assert not result.served and moved == []
    assert "traffic did not switch" in result.reason
    # the API still routes to v2, so v2 must still be there: something keeps serving
    assert platform.traffic == "libra-guard-v2"
    assert platform.apps.get("libra-guard-v2") == "2"
    assert not any(step.startswith("retire") for step in platform.log)
    assert any("libra-guard-v2 is kept" in warning for warning in result.warnings)


class RecordingServe:
    """What ``LocalServeRollout`` asks of Ray's ``ServeSubmissionClient``: the details of every
    application and a PUT of the whole config. ``meddle`` plays another writer changing the
    config right after the rollout's first read."""

    def __init__(self, applications: dict[str, dict]) -> None:
        self.applications = applications
        self.puts: list[dict] = []
        self.reads = 0
        self.meddle = None

    def get_serve_details(self) -> dict:
        self.reads += 1
        if self.reads == 2 and self.meddle:
            self.meddle(self.applications)
        return {
            "applications": {
                name: {"status": "RUNNING", "deployed_app_config": copy.deepcopy(app)}
                for name, app in self.applications.items()
            }
        }

    def deploy_applications(self, document: dict) -> None:
        self.puts.append(document)
        self.applications = {app["name"]: app for app in document["applications"]}


def _rollout(serve: RecordingServe) -> LocalServeRollout:
    rollout = LocalServeRollout(ServingConfig(), deploy_timeout_s=1)
    rollout._client = serve
    return rollout


def test_a_config_changed_by_another_writer_is_not_overwritten() -> None:
    serving = ServingConfig()
    serve = RecordingServe({"libra-guard": api_app_config("libra-guard-v1", serving)})

    def another_writer(applications: dict) -> None:
        applications["someone-elses-app"] = {"name": "someone-elses-app", "import_path": "x:y"}

    serve.meddle = another_writer
    with pytest.raises(RolloutError, match=r"changed while the rollout.*someone-elses-app"):
        _rollout(serve).switch("libra-guard-v2")
    assert serve.puts == []
    assert "someone-elses-app" in serve.applications


def test_an_unchanged_config_is_written() -> None:
    serve = RecordingServe({"libra-guard": api_app_config("libra-guard-v1", ServingConfig())})
    _rollout(serve).switch("libra-guard-v2")
    assert len(serve.puts) == 1
    assert model_app_of(serve.applications["libra-guard"]) == "libra-guard-v2"
