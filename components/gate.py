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
    import json
    import tempfile
    from collections import namedtuple
    from pathlib import Path

    from libra_guard.data.io import read_rows
    from libra_guard.evaluation.outputs import METRICS_FILE, PREDICTIONS_FILE
    from libra_guard.evaluation.runner import evaluate_model
    from libra_guard.promotion.gate import GateThresholds, decide
    from libra_guard.tracking import registry, runs

    def read_evaluation(folder: Path) -> tuple[dict, list[dict]]:
        metrics = json.loads((folder / METRICS_FILE).read_text(encoding="utf-8"))
        lines = (folder / PREDICTIONS_FILE).read_text(encoding="utf-8").splitlines()
        return metrics, [json.loads(line) for line in lines if line.strip()]

    thresholds = GateThresholds.model_validate(gate_thresholds)
    challenger_metrics, challenger_predictions = read_evaluation(Path(evaluation.path))
    champion_version = registry.alias_version("champion")
    champion_metrics = champion_predictions = None
    label = "champion"
    if champion_version is not None:
        label = f"{registry.MODEL_NAME} v{champion_version}"
        print(f"evaluating the champion ({label}) on the same {challenger_metrics['n']} rows")
        champion_dir = registry.download_model(f"models:/{registry.MODEL_NAME}@champion")
        with tempfile.TemporaryDirectory(prefix="champion-eval-") as work:
            evaluate_model(
                champion_dir,
                read_rows(test_data.path),
                Path(work),
                mode=eval_mode,  # type: ignore[arg-type]
                batch_size=eval_batch_size,
            )
            champion_metrics, champion_predictions = read_evaluation(Path(work))
    verdict = decide(
        challenger_metrics,
        challenger_predictions,
        thresholds,
        champion_metrics,
        champion_predictions,
        champion_label=label,
    )
    print(f"gate: {verdict.summary}")
    Path(report.path).write_text(verdict.to_markdown(), encoding="utf-8")
    content = verdict.to_dict() | {
        "summary": verdict.summary,
        "champion_version": champion_version,
        "challenger_average": challenger_metrics["average"],
        # The challenger's three-level thresholds travel to register_guard with the decision.
        "levels": challenger_metrics.get("levels", {}).get("thresholds", {}),
    }
    Path(decision.path).write_text(json.dumps(content, ensure_ascii=False, indent=2), "utf-8")
    decision.metadata.update({"passed": verdict.passed, "summary": verdict.summary})
    if not parent_run_id:
        parent_run_id = runs.start_pipeline_run(pipeline_run, experiment=experiment)
    # On the parent run too, so that pipeline runs compare side by side in the MLflow UI even
    # when their evaluation step came from the cache.
    runs.log_evaluation(challenger_metrics, run_id=parent_run_id)
    runs.log_gate_report(verdict, run_id=parent_run_id)
    outputs = namedtuple("GateOutputs", ["passed", "parent_run_id"])
    return outputs(verdict.passed, parent_run_id)
