"""``roll_out``: bring a version up beside the serving one, smoke it, switch, then retire.

The procedure is the same wherever the service runs; a ``Rollout`` says how each step is
done there (``local.LocalServeRollout`` on Ray Serve; a RayService implementation on
Kubernetes). Order of the steps and what each failure leaves behind:

1. ``deploy`` the new version beside the serving one. Fails: the new one is removed; the old
   one never stopped serving.
2. smoke: score the smoke set on the new version directly (no traffic reaches it yet); every
   verdict must match the evaluation. Fails: as 1.
3. ``switch`` traffic and ``confirm_serving`` (the public endpoint reports the new version).
   Fails: traffic is switched back, the new one removed. If switching back fails too, the new
   one is kept (it is what gets the traffic) and a warning says so: never nothing serving.
4. ``on_serving`` (moving the ``champion`` alias) runs only now. Fails: as 3, so the alias and
   the served version never disagree.
5. ``relabel`` the new version (its aliases) and ``retire`` the old one after ``drain_s``.
   Failures here are recorded as warnings: the new version serves either way.

Usage::

    result = roll_out(LocalServeRollout(config), target, smoke_items,
                      on_serving=lambda t: registry.set_alias(t.version, "champion"))
"""

from __future__ import annotations

import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

from libra_guard.errors import LibraGuardError
from libra_guard.tracking.model_version import ModelVersion
from serving.rollout.smoke import SmokeItem, smoke_mismatches

logger = logging.getLogger(__name__)


class RolloutError(LibraGuardError):
    """A rollout step failed; the message says which and why."""


@dataclass(frozen=True)
class ModelTarget:
    """A version to serve and where its replicas load it from.

    ``source`` is the pinned registry URI (``models:/libra-guard/3``) of a registered version,
    resolved by each replica on its own node; only an unregistered model's source is a
    folder path (``serving.model_source.target_of`` decides).
    """

    model: ModelVersion
    source: str

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.model.aliases

    @property
    def app_name(self) -> str:
        """The Serve application of this version, e.g. ``libra-guard-v3``."""
        return re.sub(r"[^A-Za-z0-9_-]", "-", f"{self.name}-v{self.version}")

    def with_alias(self, alias: str) -> ModelTarget:
        return replace(self, model=self.model.with_alias(alias))


@dataclass(frozen=True)
class ServedVersion:
    """The model application that gets the traffic now."""

    app_name: str
    version: str | None


@dataclass
class RolloutResult:
    """What happened, for the pipeline's record."""

    served: bool
    version: str
    previous_version: str | None = None
    reason: str = ""
    smoke_items: int = 0
    smoke_mismatches: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


class Rollout(ABC):
    """Where versions are served, step by step; ``roll_out`` decides the order."""

    @abstractmethod
    def serving(self) -> ServedVersion | None:
        """The model application that gets the traffic now, or ``None``."""

    @abstractmethod
    def deploy(self, target: ModelTarget) -> None:
        """Start ``target`` beside what serves, without traffic; return once it is running.

        Raises:
            RolloutError: it failed to start (the message carries the platform's reason).
        """

    @abstractmethod
    def score(self, target: ModelTarget, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(不安全) per pair from ``target`` directly, bypassing the traffic switch."""

    @abstractmethod
    def switch(self, app_name: str) -> None:
        """Send all new traffic to the model application ``app_name``."""

    @abstractmethod
    def confirm_serving(self, target: ModelTarget) -> None:
        """Return once the public endpoint answers with ``target``; raise ``RolloutError``."""

    @abstractmethod
    def relabel(self, target: ModelTarget) -> None:
        """Update what the running ``target`` reports (its aliases), without a restart."""

    @abstractmethod
    def retire(self, app_name: str) -> None:
        """Stop the model application ``app_name`` (after its requests finished)."""


def roll_out(
    rollout: Rollout,
    target: ModelTarget,
    smoke: Sequence[SmokeItem],
    *,
    on_serving: Callable[[ModelTarget], ModelTarget | None] | None = None,
    threshold: float = 0.5,
    tolerance: float = 0.05,
    drain_s: float = 2.0,
) -> RolloutResult:
    """Roll ``target`` out; see the module docstring for the steps and failure handling.

    ``on_serving`` runs once ``target`` serves (e.g. moves the ``champion`` alias) and may
    return the target with its new aliases, which the running replicas then report.
    """
    started = time.perf_counter()
    previous = rollout.serving()
    result = RolloutResult(
        served=False,
        version=target.version,
        previous_version=previous.version if previous else None,
        smoke_items=len(smoke),
    )

    def step(text: str) -> None:
        result.steps.append(f"{time.perf_counter() - started:6.1f}s {text}")
        logger.info("rollout of %s: %s", target.app_name, text)

    def fail(reason: str, *, switched: bool) -> RolloutResult:
        result.reason = reason
        step(f"failed: {reason}")
        switched_back = True
        if switched and previous is not None:
            switched_back = _attempt(
                result, "switch traffic back", lambda: rollout.switch(previous.app_name)
            )
        if not switched_back:
            # Removing it now would leave the API routing to nothing.
            result.warnings.append(
                f"{target.app_name} is kept: traffic may still go to it, since switching back "
                f"to {previous.app_name} failed; champion did not move"
            )
        elif previous is None or previous.app_name != target.app_name:
            _attempt(result, f"remove {target.app_name}", lambda: rollout.retire(target.app_name))
        result.seconds = round(time.perf_counter() - started, 2)
        return result

    if previous is not None and previous.app_name == target.app_name:
        step(f"{target.app_name} already serves; nothing to roll out")
    else:
        step(f"deploying {target.app_name} beside {previous.app_name if previous else 'nothing'}")
        try:
            rollout.deploy(target)
        except Exception as exc:
            return fail(f"the new version did not start: {exc}", switched=False)
        step("running; scoring the smoke set on it")
        try:
            scores = rollout.score(target, [item.pair for item in smoke]) if smoke else []
        except Exception as exc:
            return fail(f"the smoke set could not be scored: {exc}", switched=False)
        result.smoke_mismatches = smoke_mismatches(
            smoke, scores, threshold=threshold, tolerance=tolerance
        )
        if result.smoke_mismatches:
            return fail(
                f"{len(result.smoke_mismatches)} of {len(smoke)} smoke items disagree with the "
                f"evaluation (first: {result.smoke_mismatches[0]})",
                switched=False,
            )
        step(f"smoke set of {len(smoke)} items matches; switching traffic")
        try:
            rollout.switch(target.app_name)
            rollout.confirm_serving(target)
        except Exception as exc:
            return fail(f"traffic did not switch to the new version: {exc}", switched=True)
        step("serving")
    labelled = target
    if on_serving is not None:
        try:
            labelled = on_serving(target) or target
        except Exception as exc:
            if previous is None or previous.app_name == target.app_name:
                result.warnings.append(f"on_serving failed: {exc}")
            else:
                return fail(f"the alias could not be moved: {exc}", switched=True)
    result.served = True
    if labelled != target:
        _attempt(result, "relabel", lambda: rollout.relabel(labelled))
    if previous is not None and previous.app_name != target.app_name:
        time.sleep(drain_s)
        _attempt(result, f"retire {previous.app_name}", lambda: rollout.retire(previous.app_name))
    step("done")
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def _attempt(result: RolloutResult, what: str, action: Callable[[], None]) -> bool:
    """Run a clean-up step; a failure becomes a warning, never a second exception. Returns
    whether it succeeded."""
    try:
        action()
    except Exception as exc:
        logger.warning("rollout clean-up step %r failed: %s", what, exc)
        result.warnings.append(f"{what} failed: {exc}")
        return False
    return True
