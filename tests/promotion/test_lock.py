"""The promotion lock: a Kubernetes Lease (on the stand-in API server, through the official
client) and the registry's file lock. Both admit one holder at a time."""

from __future__ import annotations

import threading
import time

import pytest

from libra_guard.promotion.lock import (
    LEASE_NAME,
    LeaseLock,
    PromotionLockError,
    lock_path,
    registry_file_lock,
)
from libra_guard.settings import Settings

LEASES = ("coordination.k8s.io", "v1", "ml", "leases")


def _lease(fake_kube) -> dict:
    return fake_kube.get_object(*LEASES, LEASE_NAME)


def test_a_second_holder_waits_until_the_first_releases(fake_kube) -> None:
    first = LeaseLock(fake_kube.api_client(), "ml", holder="run-a", duration_s=3, poll_s=0.05)
    second = LeaseLock(fake_kube.api_client(), "ml", holder="run-b", duration_s=3, poll_s=0.05)
    first.acquire(timeout_s=5)
    assert _lease(fake_kube)["spec"]["holderIdentity"] == "run-a"
    with pytest.raises(PromotionLockError, match="held by run-a"):
        second.acquire(timeout_s=0.5)  # run-a renews, so it never expires meanwhile

    got_it = threading.Event()
    waiter = threading.Thread(target=lambda: (second.acquire(timeout_s=10), got_it.set()))
    waiter.start()
    time.sleep(0.3)
    assert not got_it.is_set()
    first.release()
    waiter.join(timeout=10)
    assert got_it.is_set()
    lease = _lease(fake_kube)["spec"]
    assert lease["holderIdentity"] == "run-b" and lease["leaseTransitions"] == 1
    second.ensure_held()
    with pytest.raises(PromotionLockError, match="now held by run-b"):
        first.ensure_held()
    second.release()
    assert not _lease(fake_kube)["spec"].get("holderIdentity")


def test_a_lease_whose_holder_stopped_renewing_is_taken_over(fake_kube) -> None:
    dead = LeaseLock(fake_kube.api_client(), "ml", holder="crashed", duration_s=1, poll_s=0.05)
    dead.acquire(timeout_s=5)
    dead._stop.set()  # the holder's process died: nothing renews the Lease any more
    alive = LeaseLock(fake_kube.api_client(), "ml", holder="next", duration_s=1, poll_s=0.05)
    started = time.monotonic()
    alive.acquire(timeout_s=10)
    assert time.monotonic() - started >= 1.0  # only after leaseDurationSeconds unrenewed
    spec = _lease(fake_kube)["spec"]
    assert spec["holderIdentity"] == "next" and spec["leaseTransitions"] == 1
    alive.release()


def test_a_conflicting_write_does_not_take_the_lease(fake_kube) -> None:
    """The API server answers 409 to an update carrying a stale resourceVersion; the lock
    then reads again instead of believing it holds the Lease."""
    first = LeaseLock(fake_kube.api_client(), "ml", holder="a", duration_s=30, poll_s=0.05)
    first.acquire(timeout_s=5)
    first.release()
    stale = LeaseLock(fake_kube.api_client(), "ml", holder="b", duration_s=30, poll_s=0.05)
    lease = stale._read()
    other = LeaseLock(fake_kube.api_client(), "ml", holder="c", duration_s=30, poll_s=0.05)
    other.acquire(timeout_s=5)
    assert stale._take(lease) is False
    assert _lease(fake_kube)["spec"]["holderIdentity"] == "c"
    other.release()


def test_forbidden_leases_name_the_missing_permission(fake_kube) -> None:
    fake_kube.fail_next("GET", r"/leases/", 403, "leases is forbidden")
    lock = LeaseLock(fake_kube.api_client(), "ml", holder="a")
    with pytest.raises(PromotionLockError, match="needs get, create and update on leases"):
        lock.acquire(timeout_s=1)


def test_the_file_lock_sits_beside_a_sqlite_registry_and_excludes_a_second_holder(
    tmp_path,
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = Settings(state_dir=tmp_path / "state")
    assert lock_path(uri, settings) == tmp_path / "mlflow.db.promotion.lock"
    assert lock_path("http://mlflow:5000", settings).parent == tmp_path / "state" / "locks"
    with (
        registry_file_lock(uri, settings),
        pytest.raises(PromotionLockError, match="another promotion held"),
        registry_file_lock(uri, settings, timeout_s=0.2),
    ):
        pass
    with registry_file_lock(uri, settings, timeout_s=0.2):
        pass
