"""Promotion without races: two runs that both passed the gate against champion v1 roll out at
the same time; one promotes, the other fails with the reason, and ``champion`` only ever names
a version compared with its predecessor. Locally (registry file lock) and in cluster mode
(a Kubernetes Lease on the stand-in API server, RayService rollout)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from libra_guard.data.schema import GuardRow
from libra_guard.promotion.champion import (
    COMPARED_TAG,
    ChampionMovedError,
    record_compared_champion,
)
from libra_guard.promotion.lock import LEASE_NAME
from libra_guard.tracking import registry
from libra_guard.tracking.model_version import ModelVersion
from libra_guard.tracking.store import client
from serving.rollout import rayservice
from serving.rollout.base import ModelTarget, ServedVersion
from serving.rollout.deploy import REASON_TAG, STATUS_TAG, deploy_registered, roll_out_registered
from tests.fakes.guard_api import FakeGuardCluster
from tests.serving import test_rollout_rayservice as on_rayservice
from tests.serving.test_rollout_logic import SMOKE, FakePlatform


class SlowPlatform(FakePlatform):
    """The recorded fake platform, shared by both runs; deploying takes a while so that the
    two rollouts overlap, and a hook may act at the traffic switch."""

    def __init__(self, serving_app: str) -> None:
        super().__init__(serving_app, [0.9, 0.1])
        self.on_confirm = None
        self._mutex = threading.Lock()

    def serving(self) -> ServedVersion | None:
        with self._mutex:
            return super().serving()

    def deploy(self, target: ModelTarget) -> None:
        time.sleep(0.5)
        with self._mutex:
            super().deploy(target)

    def confirm_serving(self, target: ModelTarget) -> None:
        if self.on_confirm:
            self.on_confirm()
        super().confirm_serving(target)


def _target(version: str) -> ModelTarget:
    model = ModelVersion("libra-guard", version, aliases=("challenger",))
    return ModelTarget(model, f"/models/{version}")


@pytest.fixture
def registered(tmp_path, monkeypatch) -> str:
    """v1 champion; v2 and v3 both passed the gate against v1 (two concurrent runs)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("LIBRA_STATE_DIR", str(tmp_path / "state"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    for _ in range(3):
        registry.log_and_register(folder, {"dataset_digests": {"test": "c" * 64}})
    registry.set_alias("1", registry.CHAMPION)
    for version in ("2", "3"):
        record_compared_champion(version, "1")
    return uri


def _concurrently(*calls):
    """Run the calls in threads released together; each outcome is a result or exception."""
    start = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index: int, call) -> None:
        start.wait()
        try:
            outcomes[index] = call()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return outcomes


def test_two_concurrent_local_rollouts_promote_one_and_fail_the_other(registered) -> None:
    platform = SlowPlatform("libra-guard-v1")

    def run(version: str):
        return lambda: roll_out_registered(platform, _target(version), SMOKE, drain_s=0)

    outcomes = _concurrently(run("2"), run("3"))
    served = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, ChampionMovedError)]
    assert len(served) == 1 and served[0].served, outcomes
    assert len(refused) == 1, outcomes
    winner = served[0].version
    loser = "3" if winner == "2" else "2"
    assert registry.alias_version(registry.CHAMPION) == winner
    assert platform.traffic == f"libra-guard-v{winner}"
    assert str(refused[0]) == (
        f"champion moved: the gate compared libra-guard v{loser} with v1, but champion now "
        f"names v{winner}; v{loser} was never compared with it, so champion stays. Run the "
        "pipeline again to compare against the new champion"
    )
    # the refused run deployed nothing
    assert platform.log.count("deploy") == 1 and f"libra-guard-v{loser}" not in platform.apps


def test_alias_moved_during_the_rollout_switches_traffic_back(registered) -> None:
    platform = SlowPlatform("libra-guard-v1")
    # someone points champion elsewhere while v2 is being switched in
    platform.on_confirm = lambda: registry.set_alias("3", registry.CHAMPION)

    with pytest.raises(ChampionMovedError, match="champion now names v3"):
        roll_out_registered(platform, _target("2"), SMOKE, drain_s=0)
    assert registry.alias_version(registry.CHAMPION) == "3"
    assert platform.traffic == "libra-guard-v1"  # traffic went back, the new app is removed
    assert "libra-guard-v2" not in platform.apps


def test_concurrent_deploys_on_a_rayservice_take_turns_through_a_lease(
    registered, fake_kube, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("LIBRA_API_KEY", "k3y")
    with FakeGuardCluster(
        fake_kube, "ml", "libra-guard", on_rayservice.Scores(), api_key="k3y"
    ) as cluster:
        _deploy_two_at_once(fake_kube, cluster, tmp_path, monkeypatch)


def _deploy_two_at_once(fake_kube, cluster: FakeGuardCluster, tmp_path, monkeypatch) -> None:
    cluster.create_rayservice(on_rayservice.CHART_CONFIG)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(on_rayservice._kubeconfig(fake_kube.url)), encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("LIBRA_SERVING_BACKEND", "rayservice")
    monkeypatch.setenv("LIBRA_GUARD_URL", cluster.url)
    monkeypatch.setattr(rayservice, "DEFAULT_TIMINGS", on_rayservice.FAST)
    rows = [
        GuardRow(id=i.id, source="Real Data", category_name="c", sub_category_name="s",
                 question=i.question, response=i.response, label=i.expected_label)
        for i in on_rayservice.SMOKE
    ]  # fmt: skip
    predictions = [{"id": i.id, "score": i.expected_score} for i in on_rayservice.SMOKE]

    def run(version: str):
        return lambda: deploy_registered(version, rows, predictions, drain_s=0)

    outcomes = _concurrently(run("2"), run("3"))
    served = [o[0] for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if isinstance(o, ChampionMovedError)]
    assert len(served) == 1 and served[0].served, outcomes
    assert len(refused) == 1, outcomes
    winner = served[0].version
    loser = "3" if winner == "2" else "2"
    assert registry.alias_version(registry.CHAMPION) == winner
    assert set(on_rayservice.apps_in(cluster)) == {"libra-guard", f"libra-guard-v{winner}"}
    tags = client().get_model_version(registry.MODEL_NAME, loser).tags
    assert tags[STATUS_TAG] == "failed" and "champion moved" in tags[REASON_TAG]
    assert tags[COMPARED_TAG] == "1"
    # both took the same Lease in turn; it is free again
    lease_writes = [r for r in fake_kube.requests if "/leases" in r.path and r.method != "GET"]
    assert len(lease_writes) >= 4  # create or take, then release, for each run
    lease = fake_kube.get_object("coordination.k8s.io", "v1", "ml", "leases", LEASE_NAME)
    assert not lease["spec"].get("holderIdentity")
