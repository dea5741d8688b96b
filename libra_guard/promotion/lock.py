"""One promotion at a time: a lock around "check the champion, roll out, move the alias".

MLflow's registry has no compare-and-set on aliases, so two pipeline runs that both passed
the gate against champion v1 could both move ``champion``. Every rollout therefore holds the
promotion lock from its champion check to its alias move (``champion.py`` does the check):

- locally, a file lock in the registry's folder (beside the SQLite file, else under the
  state folder), which the operating system releases when the holder dies;
- in cluster mode (``serving_backend: rayservice``), a Kubernetes ``Lease``
  (coordination.k8s.io/v1), renewed while held and taken over once its holder stops
  renewing it for ``leaseDurationSeconds``, so a crashed step never blocks promotions.

Usage::

    with promotion_lock(Settings(), tracking_uri) as lock:
        ...                     # check champion, roll out
        lock.ensure_held()      # before moving the alias
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from libra_guard.errors import LibraGuardError
from libra_guard.settings import Settings

logger = logging.getLogger(__name__)

LEASE_NAME = "libra-guard-promotion"
#: How long a promotion waits for another one to finish (a rollout takes minutes).
WAIT_TIMEOUT_S = 1800.0


class PromotionLockError(LibraGuardError):
    """The promotion lock could not be taken in time, or was lost while held."""


class FileLockHeld:
    """The local lock once taken; the operating system frees it if this process dies."""

    def ensure_held(self) -> None:
        """A file lock cannot be taken away from a living holder."""


@contextmanager
def registry_file_lock(
    tracking_uri: str, settings: Settings, *, timeout_s: float = WAIT_TIMEOUT_S
) -> Iterator[FileLockHeld]:
    """Hold the promotion file lock of the registry at ``tracking_uri``.

    Raises:
        PromotionLockError: another promotion held it for ``timeout_s``.
    """
    from filelock import FileLock, Timeout

    path = lock_path(tracking_uri, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout as exc:
        raise PromotionLockError(
            f"another promotion held {path} for {timeout_s:.0f}s; try again once it finished"
        ) from exc
    try:
        yield FileLockHeld()
    finally:
        lock.release()


def lock_path(tracking_uri: str, settings: Settings) -> Path:
    """Beside a SQLite registry (every process using that file sees it); for any other
    registry a file under the state folder named after the registry's URI."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite" and tracking_uri.startswith("sqlite:///"):
        database = Path(tracking_uri[len("sqlite:///") :])
        return database.with_name(f"{database.name}.promotion.lock")
    digest = hashlib.sha256(tracking_uri.encode("utf-8")).hexdigest()[:16]
    return Path(settings.state_dir) / "locks" / f"promotion-{digest}.lock"


class LeaseLock:
    """A Kubernetes Lease held by this process, the way client-go's leader election holds
    one (k8s.io/client-go/tools/leaderelection/leaderelection.go, ``tryAcquireOrRenew``,
    with resourcelock/leaselock.go for the Get/Create/Update calls)."""

    def __init__(
        self,
        api,
        namespace: str,
        *,
        name: str = LEASE_NAME,
        duration_s: int = 60,
        poll_s: float = 2.0,
        holder: str | None = None,
    ) -> None:
        from kubernetes import client

        self._leases = client.CoordinationV1Api(api)
        self.namespace = namespace
        self.name = name
        self.duration_s = duration_s
        self.poll_s = poll_s
        self.holder = holder or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lost: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self, timeout_s: float = WAIT_TIMEOUT_S) -> None:
        """Take the Lease, waiting while another holder keeps renewing it.

        Raises:
            PromotionLockError: not taken within ``timeout_s``, or the API refused.
        """
        deadline = time.monotonic() + timeout_s
        # Like client-go, expiry is judged on this process's clock: a record (holder and
        # resourceVersion) unchanged for leaseDurationSeconds since we first saw it has
        # expired, whatever the holder's clock says its renewTime is.
        observed: tuple[str, float] | None = None
        while True:
            lease = self._read()
            if lease is None:
                if self._create():
                    break
                continue
            version = lease.metadata.resource_version
            holder = lease.spec.holder_identity if lease.spec else None
            if observed is None or observed[0] != version:
                observed = (version, time.monotonic())
            duration = (lease.spec.lease_duration_seconds if lease.spec else None) or 0
            expired = time.monotonic() - observed[1] > duration
            if (not holder or holder == self.holder or expired) and self._take(lease):
                if holder and holder != self.holder:
                    logger.warning("took over the promotion lease from %s (expired)", holder)
                break
            if time.monotonic() > deadline:
                raise PromotionLockError(
                    f"Lease {self.namespace}/{self.name} is held by {holder} (another "
                    f"promotion) since more than {timeout_s:.0f}s; try again once it finished"
                )
            time.sleep(self.poll_s)
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, daemon=True)
        self._renewer.start()

    def ensure_held(self) -> None:
        """Raise if another holder took the Lease (this one stopped renewing in time).

        Raises:
            PromotionLockError: the Lease was lost.
        """
        if self._lost:
            raise PromotionLockError(f"the promotion Lease was lost: {self._lost}")
        lease = self._read()
        holder = lease.spec.holder_identity if lease is not None and lease.spec else None
        if holder != self.holder:
            raise PromotionLockError(
                f"the promotion Lease {self.namespace}/{self.name} is now held by {holder}"
            )

    def release(self) -> None:
        """Stop renewing and clear the holder (client-go's ReleaseOnCancel); a conflict means
        someone else holds it already, which is fine."""
        from kubernetes.client.exceptions import ApiException

        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=10)
        lease = self._read()
        if lease is None or lease.spec is None or lease.spec.holder_identity != self.holder:
            return
        lease.spec.holder_identity = None
        lease.spec.lease_duration_seconds = 1
        try:
            self._leases.replace_namespaced_lease(self.name, self.namespace, lease)
        except ApiException as exc:
            logger.warning("could not release the promotion lease: %s", exc.reason)

    # -- the API calls -----------------------------------------------------------------

    def _read(self):
        from kubernetes.client.exceptions import ApiException

        try:
            return self._leases.read_namespaced_lease(self.name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise PromotionLockError(_api_message("read", self, exc)) from exc

    def _create(self) -> bool:
        """Create the Lease held by us; ``False`` when someone created it first (409)."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        body = client.V1Lease(
            metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace),
            spec=self._spec(None),
        )
        try:
            self._leases.create_namespaced_lease(self.namespace, body)
            return True
        except ApiException as exc:
            if exc.status == 409:  # AlreadyExists: another promotion was quicker
                return False
            raise PromotionLockError(_api_message("create", self, exc)) from exc

    def _take(self, lease) -> bool:
        """Write ourselves as holder, conditional on the resourceVersion we read: the API
        server answers 409 Conflict when the Lease changed meanwhile (optimistic concurrency,
        k8s.io/apiserver/pkg/registry/generic/registry/store.go ``Store.Update``)."""
        from kubernetes.client.exceptions import ApiException

        lease.spec = self._spec(lease.spec)
        try:
            self._leases.replace_namespaced_lease(self.name, self.namespace, lease)
            return True
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise PromotionLockError(_api_message("update", self, exc)) from exc

    def _spec(self, previous):
        """Our spec, given the one read (``None`` for a new Lease): a renewal keeps the
        acquire time, any other write counts one more transition (client-go's
        ``tryAcquireOrRenew`` does the same with ``LeaderTransitions``)."""
        from kubernetes import client

        now = datetime.now(UTC)
        renewing = previous is not None and previous.holder_identity == self.holder
        transitions = (previous.lease_transitions or 0) if previous is not None else 0
        if previous is not None and not renewing:
            transitions += 1
        return client.V1LeaseSpec(
            holder_identity=self.holder,
            lease_duration_seconds=self.duration_s,
            acquire_time=previous.acquire_time if renewing else now,
            renew_time=now,
            lease_transitions=transitions,
        )

    def _renew_loop(self) -> None:
        """Renew every third of the duration, as client-go's RetryPeriod/RenewDeadline do."""
        while not self._stop.wait(self.duration_s / 3):
            try:
                lease = self._read()
                holder = lease.spec.holder_identity if lease is not None and lease.spec else None
                if holder != self.holder:
                    self._lost = f"now held by {holder}"
                    return
                if not self._take(lease):
                    logger.warning("renewing the promotion lease met a conflict; retrying")
            except Exception as exc:  # keep renewing through transient API errors
                logger.warning("renewing the promotion lease failed: %s", exc)


def _api_message(action: str, lock: LeaseLock, exc) -> str:
    from libra_guard.kube.client import api_error_message

    return (
        f"cannot {action} the promotion Lease {lock.namespace}/{lock.name} "
        f"(coordination.k8s.io; the service account needs get, create and update on "
        f"leases): {api_error_message(exc)}"
    )


@contextmanager
def lease_lock(
    settings: Settings, *, timeout_s: float = WAIT_TIMEOUT_S, api=None
) -> Iterator[LeaseLock]:
    """Hold the promotion Lease in the pipeline's namespace."""
    from libra_guard.kube.client import api_client, namespace

    lock = LeaseLock(api or api_client(settings), namespace(settings))
    lock.acquire(timeout_s)
    try:
        yield lock
    finally:
        lock.release()


@contextmanager
def promotion_lock(settings: Settings, tracking_uri: str) -> Iterator[FileLockHeld | LeaseLock]:
    """The Lease in cluster mode (``serving_backend: rayservice``), else the registry's file
    lock; see the module docstring."""
    if settings.serving_backend == "rayservice":
        with lease_lock(settings) as held:
            yield held
    else:
        with registry_file_lock(tracking_uri, settings) as held:
            yield held
