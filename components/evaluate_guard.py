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

    from libra_guard.atomic import write_file_atomic
    from libra_guard.settings import Settings
    from libra_guard.steps.evaluate import evaluate, log_evaluation_stage

    result = evaluate(
        guard_model.path,
        test_data.path,
        evaluation.path,
        mode=eval_mode,
        batch_size=eval_batch_size,
    )
    for name, value in result.headline.items():
        metrics.log_metric(name, value)
    matrix = result.metrics["confusion_matrix"]
    classification.log_confusion_matrix(matrix["labels"], matrix["matrix"])
    if result.roc is not None:
        classification.log_roc_curve(result.roc.fpr, result.roc.tpr, result.roc.thresholds)
    evaluation.metadata.update({"average": result.metrics["average"], "n": result.metrics["n"]})
    # The figures travel as metadata; the files also make the artifacts exist on disk, which
    # the local runner's cache requires before it reuses this step.
    for artifact in (metrics, classification):
        write_file_atomic(artifact.path, json.dumps(artifact.metadata))
    parent_run_id = Settings().mlflow_parent_run_id
    if parent_run_id:
        log_evaluation_stage(parent_run_id, result, model_uri=guard_model.uri)
