"""``register_guard``: the pass branch. Log the challenger to MLflow with its lineage,
register a new version of ``libra-guard`` and give it the alias ``challenger``;
``deploy_guard`` moves ``champion`` once the version serves.

A run whose every step came from the cache trains nothing new; when the champion already is
this very model artifact, no duplicate version is registered.
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model

from components import COMPONENT_OPTIONS, PROJECT_IMAGE


@dsl.component(base_image=PROJECT_IMAGE, **COMPONENT_OPTIONS)
def register_guard(
    guard_model: Input[Model],
    test_data: Input[Dataset],
    decision: Input[Artifact],
    parent_run_id: str,
    pipeline_run: str = "",
    git_commit: str = "",
) -> NamedTuple("RegisterOutputs", [("version", str)]):
    """Register the challenger (alias ``challenger``; ``champion`` moves in ``deploy_guard``).

    Args:
        guard_model: the final model folder (from ``finetune_guard``); its metadata carries
            ``base_model`` and the training data digests.
        test_data: the held-out set it was judged on (its digest joins the lineage, and so
            do its ``sources``: each real-data source of the run, feedback among them, with
            its digest).
        decision: the gate's decision JSON (its summary, compared champion and the
            challenger's three-level thresholds join the version).
        parent_run_id: the pipeline run's MLflow parent run; the model is logged there.
        pipeline_run: the orchestrator's run name (KFP run or local run folder).
        git_commit: the commit of the code that built the pipeline; empty: ask git where
            the package lives (``unknown`` in an image without a checkout).

    Returns:
        ``version``: the registered model version that now holds ``challenger`` (or the
        champion's version when the champion already is this model).
    """
    from collections import namedtuple

    from libra_guard.steps.gate import read_decision
    from libra_guard.steps.register import register

    digests = dict(guard_model.metadata.get("data_sha256", {}))
    digests["test"] = test_data.metadata.get("sha256", "")
    registration = register(
        guard_model.path,
        guard_model.uri,
        read_decision(decision.path),
        digests=digests,
        base_model=guard_model.metadata.get("base_model"),
        sources=dict(test_data.metadata.get("sources", {})),
        pipeline_run=pipeline_run or parent_run_id,
        parent_run_id=parent_run_id,
        git_commit=git_commit,
    )
    if registration.created:
        print(f"registered libra-guard version {registration.version} as challenger")
    else:
        print(f"version {registration.version} already is this model; nothing registered")
    return namedtuple("RegisterOutputs", ["version"])(registration.version)
