"""``evaluate_guard``: score the trained guard on the held-out test set (Libra-Test protocol).

The whole evaluation folder (metrics, per-row predictions, plots) travels as one artifact, so
the gate can pair the challenger's per-row outcomes with the champion's.
"""

from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from components import COMPONENT_OPTIONS, PROJECT_IMAGE


@dsl.component(base_image=PROJECT_IMAGE, **COMPONENT_OPTIONS)
def evaluate_guard(
    guard_model: Input[Model],
    test_data: Input[Dataset],
    evaluation: Output[Dataset],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
    eval_mode: str = "verdict",
    eval_batch_size: int = 16,
) -> None:
    """Evaluate the guard and publish its metrics.

    Args:
        guard_model: the final model folder (from ``finetune_guard``).
        test_data: JSONL of held-out labelled rows (from ``prepare_data``).
        evaluation: output folder with ``metrics.json`` (per source, average, per scenario
            and subcategory, confusion matrix, ROC-AUC), ``predictions.jsonl`` (one row per
            test row: id, label, prediction, correct, score) and two PNG plots.
        metrics: output scalars: ``average_accuracy``, ``average_f1_safe``,
            ``average_f1_unsafe``, ``roc_auc`` (when defined), ``n``, ``unparseable`` and
            ``<source>_accuracy`` per source.
        classification: output confusion matrix (安全/不安全) and ROC curve of P(不安全).
        eval_mode: ``verdict`` (one forward pass per row) or ``generate`` (the paper's greedy
            generation, 256 new tokens, scored by the paper's rule).
        eval_batch_size: rows per forward pass.
    """
    import json
    import math
    from pathlib import Path

    from sklearn.metrics import roc_curve

    from libra_guard.atomic import publish_folder
    from libra_guard.data.io import read_rows
    from libra_guard.data.schema import UNSAFE
    from libra_guard.evaluation.outputs import PREDICTIONS_FILE
    from libra_guard.evaluation.runner import evaluate_model
    from libra_guard.settings import Settings
    from libra_guard.tracking import runs

    target = Path(evaluation.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.partial")
    result = evaluate_model(
        guard_model.path,
        read_rows(test_data.path),
        staging,
        mode=eval_mode,  # type: ignore[arg-type]
        batch_size=eval_batch_size,
        with_scores=True,
    )
    publish_folder(staging, target)

    for figure, value in result["average"].items():
        metrics.log_metric(f"average_{figure}", value)
    for source, figures in result["by_source"].items():
        metrics.log_metric(f"{source}_accuracy", figures["accuracy"])
    if result.get("roc_auc") is not None:
        metrics.log_metric("roc_auc", result["roc_auc"])
    metrics.log_metric("n", result["n"])
    metrics.log_metric("unparseable", result["unparseable"])
    matrix = result["confusion_matrix"]
    classification.log_confusion_matrix(matrix["labels"], matrix["matrix"])
    records = [
        json.loads(line)
        for line in (target / PREDICTIONS_FILE).read_text(encoding="utf-8").splitlines()
    ]
    scored = [record for record in records if record.get("score") is not None]
    if len({record["label"] for record in scored}) == 2:
        fpr, tpr, thresholds = roc_curve(
            [record["label"] == UNSAFE for record in scored],
            [record["score"] for record in scored],
        )
        # sklearn's first threshold is +inf, which metadata (JSON) cannot carry.
        finite = [min(float(t), 1.0) if math.isfinite(t) else 1.0 for t in thresholds]
        classification.log_roc_curve(list(map(float, fpr)), list(map(float, tpr)), finite)
    evaluation.metadata.update({"average": result["average"], "n": result["n"]})
    # The figures travel as metadata; the files also make the artifacts exist on disk, which
    # the local runner's cache requires before it reuses this step.
    for artifact in (metrics, classification):
        Path(artifact.path).write_text(json.dumps(artifact.metadata), encoding="utf-8")
    parent_run_id = Settings().mlflow_parent_run_id
    if parent_run_id:
        run_id = runs.log_stage(
            parent_run_id,
            "evaluate_guard",
            params={"mode": eval_mode, "batch_size": eval_batch_size, "model": guard_model.uri},
        )
        runs.log_evaluation(result, target, run_id=run_id)
