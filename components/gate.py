"""``gate``: may the freshly trained challenger replace the champion?

The decision itself is ``libra_guard.promotion.gate.decide``; this step gathers its inputs
(the challenger's evaluation, and the current champion evaluated here on the SAME test rows)
and publishes the verdict: a boolean for the pipeline's ``dsl.If`` and a Markdown report.
Never cached: the champion it compares against changes between runs.
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Output

from components import COMPONENT_OPTIONS, PROJECT_IMAGE


@dsl.component(base_image=PROJECT_IMAGE, **COMPONENT_OPTIONS)
def gate(
    test_data: Input[Dataset],
    evaluation: Input[Dataset],
    gate_thresholds: dict,
    report: Output[Markdown],
    decision: Output[Artifact],
    experiment: str = "libra-guard",
    parent_run_id: str = "",
    pipeline_run: str = "",
    eval_mode: str = "verdict",
    eval_batch_size: int = 16,
) -> NamedTuple("GateOutputs", [("passed", bool), ("parent_run_id", str)]):
    """Decide on the challenger: thresholds, then no proven regression against the champion.

    Args:
        test_data: the held-out JSONL the challenger was evaluated on; the champion (the
            registered model under alias ``champion``, if any) is evaluated on it here.
        evaluation: the challenger's evaluation folder (``metrics.json``,
            ``predictions.jsonl``) from ``evaluate_guard``.
        gate_thresholds: ``libra_guard.promotion.gate.GateThresholds`` fields
            (``min_average_accuracy``, ``min_f1_unsafe``, ``min_category_accuracy``,
            ``min_category_rows``, ``alpha``); empty: the defaults.
        report: output Markdown: the decision, each check against its threshold, the
            McNemar table and the reasons.
        decision: output JSON: ``GateDecision.to_dict()`` plus ``champion_version`` and the
            challenger's headline metrics.
        experiment: the MLflow experiment of the pipeline (used when a parent run must be
            created here).
        parent_run_id: the pipeline run's MLflow parent run; empty (a cluster run) creates it,
            found again by ``pipeline_run`` if the step is retried.
        pipeline_run: the orchestrator's run id (KFP's run, or the local run folder).
        eval_mode: how the champion is evaluated; must match the challenger's evaluation.
        eval_batch_size: rows per forward pass for the champion.

    Returns:
        ``passed``: whether the challenger may be registered; ``parent_run_id``: the MLflow
        parent run the following steps log to.
    """
    from collections import namedtuple

    from libra_guard.evaluation.outputs import read_metrics
    from libra_guard.promotion.gate import GateThresholds
    from libra_guard.steps.gate import gate as decide_gate
    from libra_guard.steps.gate import write_decision
    from libra_guard.tracking import runs

    outcome = decide_gate(
        test_data.path,
        evaluation.path,
        GateThresholds.model_validate(gate_thresholds),
        mode=eval_mode,  # type: ignore[arg-type]
        batch_size=eval_batch_size,
    )
    print(f"gate: {outcome.summary}")
    write_decision(outcome, decision.path, report.path)
    decision.metadata.update({"passed": outcome.passed, "summary": outcome.summary})
    if not parent_run_id:
        parent_run_id = runs.start_pipeline_run(pipeline_run, experiment=experiment)
    # On the parent run too, so that pipeline runs compare side by side in the MLflow UI even
    # when their evaluation step came from the cache.
    runs.log_evaluation(read_metrics(evaluation.path), run_id=parent_run_id)
    runs.log_gate_report(outcome.decision, run_id=parent_run_id)
    outputs = namedtuple("GateOutputs", ["passed", "parent_run_id"])
    return outputs(outcome.passed, parent_run_id)
