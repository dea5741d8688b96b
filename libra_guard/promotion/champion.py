"""Move ``champion`` only if it still names the version the gate compared against.

The gate evaluates the challenger against the champion it reads; ``register_guard`` records
that version on the new model version (``libra.gate.compared_champion``). When the rollout is
about to move the alias (under the promotion lock, ``lock.py``), ``move_champion`` checks that
``champion`` still names that version: compare-and-set. Otherwise another run promoted a
newer champion meanwhile, this challenger was never compared with it, and the run fails with
that reason instead of silently replacing a model it never beat.

Usage::

    record_compared_champion(new_version, decision["champion_version"])   # register_guard
    recorded, expected = compared_champion(new_version)                  # rollout
    with promotion_lock(settings, tracking_uri):
        check_champion(new_version, expected)          # before deploying
        ...
        move_champion(new_version, expected)           # once it serves
"""

from __future__ import annotations

from libra_guard.errors import LibraGuardError
from libra_guard.tracking import registry
from libra_guard.tracking.store import client

COMPARED_TAG = "libra.gate.compared_champion"
#: Tag value when the gate found no champion (the thresholds alone decided).
NO_CHAMPION = "none"


class ChampionMovedError(LibraGuardError):
    """``champion`` no longer names the version the gate compared the challenger with."""


def record_compared_champion(
    version: str, compared: str | None, *, tracking_uri: str | None = None
) -> None:
    """Tag ``version`` with the champion version the gate compared it with (``None``: none)."""
    client(tracking_uri).set_model_version_tag(
        registry.MODEL_NAME, str(version), COMPARED_TAG, str(compared or NO_CHAMPION)
    )


def compared_champion(version: str, *, tracking_uri: str | None = None) -> tuple[bool, str | None]:
    """``(recorded, champion)``: whether ``version`` records the gate's comparison, and the
    champion version it was compared with (``None``: there was none).

    A version registered outside the pipeline records none; its rollout then compares
    against the champion it reads under the lock when it starts (``deploy_registered``).
    """
    tags = client(tracking_uri).get_model_version(registry.MODEL_NAME, str(version)).tags
    if COMPARED_TAG not in tags:
        return False, None
    value = tags[COMPARED_TAG]
    return True, (None if value == NO_CHAMPION else value)


def check_champion(
    version: str, expected: str | None, *, tracking_uri: str | None = None
) -> str | None:
    """Return the current champion if it is ``expected`` (or already ``version``).

    Raises:
        ChampionMovedError: it names another version (or none); the message says which.
    """
    current = registry.alias_version(registry.CHAMPION, tracking_uri=tracking_uri)
    if current == str(version) or current == expected:
        return current
    raise ChampionMovedError(
        f"champion moved: the gate compared {registry.MODEL_NAME} v{version} with "
        f"{_describe(expected)}, but champion now names {_describe(current)}; v{version} was "
        "never compared with it, so champion stays. Run the pipeline again to compare "
        "against the new champion"
    )


def move_champion(version: str, expected: str | None, *, tracking_uri: str | None = None) -> None:
    """Compare-and-set: point ``champion`` at ``version`` if it still names ``expected``.
    Call it under the promotion lock so no other promotion moves it in between.

    Raises:
        ChampionMovedError: see ``check_champion``.
    """
    check_champion(version, expected, tracking_uri=tracking_uri)
    registry.set_alias(version, registry.CHAMPION, tracking_uri=tracking_uri)


def _describe(version: str | None) -> str:
    return f"v{version}" if version else "no champion"
