"""Step ``register_guard``: register the model that passed the gate as ``challenger``.

The rule that keeps a re-run from registering the same model twice lives here: when
``champion`` or ``challenger`` already holds a version trained at this very checkpoint, that
version is the answer and nothing new is registered. ``champion`` moves later, in the deploy
step, once the version serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from libra_guard.promotion.champion import record_compared_champion
from libra_guard.steps.gate import GateOutcome
from libra_guard.tracking import registry, runs
from libra_guard.tracking.model_version import ModelVersion


@dataclass(frozen=True)
class Registration:
    """The version that now stands for the model, and whether this call created it."""

    version: str
    created: bool


def already_registered(checkpoint_uri: str, *, tracking_uri: str | None = None) -> str | None:
    """The version ``champion`` or ``challenger`` points at if it was trained at
    ``checkpoint_uri`` (e.g. a pipeline re-run whose training came from the cache)."""
    for alias in (registry.CHAMPION, registry.CHALLENGER):
        holder = registry.alias_version(alias, tracking_uri=tracking_uri)
        if holder is None:
            continue
        held = registry.describe(holder, tracking_uri=tracking_uri)
        if held.lineage.get("checkpoint_uri") == checkpoint_uri:
            return holder
    return None


def register(
    model_dir: str | Path,
    checkpoint_uri: str,
    outcome: GateOutcome,
    *,
    digests: dict[str, str],
    base_model: str | None,
    sources: dict[str, str] | None = None,
    pipeline_run: str,
    parent_run_id: str,
    git_commit: str = "",
    tracking_uri: str | None = None,
) -> Registration:
    """Register ``model_dir`` (trained at ``checkpoint_uri``) with its lineage, unless it is;
    the model is logged in the ``register_guard`` run nested under ``parent_run_id``.
    ``sources`` names each real-data source (URI) the run read and its digest.

    Raises:
        ModelError: the registry refuses the version.
    """
    holder = already_registered(checkpoint_uri, tracking_uri=tracking_uri)
    if holder is not None:
        return Registration(holder, created=False)
    lineage = {
        "dataset_digests": digests,
        "data_sources": dict(sources or {}),
        "pipeline_run_id": pipeline_run,
        "checkpoint_uri": checkpoint_uri,
        "base_model": base_model,
        "gate_decision": outcome.summary,
        # Calibrated on the evaluation split (evaluate_guard), forwarded by the gate.
        "levels": {
            key: value
            for key, value in outcome.levels.items()
            if key in ("safe_below", "unsafe_from", "precision")
        },
    }
    if git_commit:
        lineage["git_commit"] = git_commit
    stage_run_id = runs.stage_run_id(parent_run_id, "register_guard", tracking_uri=tracking_uri)
    created: ModelVersion = registry.log_and_register(
        model_dir, lineage, run_id=stage_run_id, tracking_uri=tracking_uri
    )
    # deploy_guard moves champion only if it still names the version the gate compared with.
    record_compared_champion(created.version, outcome.champion_version, tracking_uri=tracking_uri)
    runs.finish_run(stage_run_id, tracking_uri=tracking_uri)
    return Registration(created.version, created=True)
