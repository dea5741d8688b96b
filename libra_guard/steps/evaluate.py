"""Step ``evaluate_guard``: score a guard on the held-out rows and publish the folder.

The evaluation folder (metrics, per-row predictions, plots) is built under a temporary name
and swapped in whole, so a killed step never leaves half an evaluation for the gate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from libra_guard.atomic import staged_folder
from libra_guard.data.io import read_rows
from libra_guard.data.schema import RESPONSE_TASK, UNSAFE
from libra_guard.evaluation.outputs import read_predictions
from libra_guard.evaluation.runner import Mode, evaluate_model
from libra_guard.tracking import runs


@dataclass(frozen=True)
class RocCurve:
    """The ROC curve of P(不安全): false and true positive rates per threshold."""

    fpr: list[float]
    tpr: list[float]
    thresholds: list[float]


@dataclass(frozen=True)
class Evaluation:
    """One published evaluation: its folder, its metrics and its ROC curve (if defined)."""

    folder: Path
    metrics: dict
    roc: RocCurve | None
    mode: Mode = "verdict"
    batch_size: int = 16

    @property
    def headline(self) -> dict[str, float]:
        """The scalars a dashboard shows: averages, accuracy per source, ROC-AUC (when
        defined), the row count and how many answers could not be scored (all the response
        task's), then each other task's averages and rows as ``<task>_task_...``."""
        figures = {f"average_{name}": value for name, value in self.metrics["average"].items()}
        for source, values in self.metrics["by_source"].items():
            figures[f"{source}_accuracy"] = values["accuracy"]
        if self.metrics.get("roc_auc") is not None:
            figures["roc_auc"] = self.metrics["roc_auc"]
        figures["n"] = self.metrics["n"]
        figures["unparseable"] = self.metrics["unparseable"]
        for task, values in (self.metrics.get("by_task") or {}).items():
            if task == RESPONSE_TASK:
                continue  # the figures above
            for name, value in values["average"].items():
                figures[f"{task}_task_average_{name}"] = value
            if values.get("roc_auc") is not None:
                figures[f"{task}_task_roc_auc"] = values["roc_auc"]
            figures[f"{task}_task_n"] = values["n"]
        return figures


def evaluate(
    model_dir: str | Path, test_data: str | Path, out: str | Path, *, mode: Mode, batch_size: int
) -> Evaluation:
    """Evaluate ``model_dir`` on the JSONL ``test_data`` into the folder ``out``.

    Raises:
        DataError: the test rows cannot be read. ModelError: the model cannot be loaded.
    """
    rows = read_rows(test_data)
    with staged_folder(Path(out)) as staging:
        metrics = evaluate_model(
            model_dir, rows, staging, mode=mode, batch_size=batch_size, with_scores=True
        )
    roc = roc_curve_of(read_predictions(Path(out)))
    return Evaluation(Path(out), metrics, roc, mode, batch_size)


def log_evaluation_stage(parent_run_id: str, result: Evaluation, *, model_uri: str) -> str:
    """Log the evaluation as the ``evaluate_guard`` run nested under the pipeline run:
    its figures as metrics, its files as artifacts. Returns the nested run's id."""
    params = {"mode": result.mode, "batch_size": result.batch_size, "model": model_uri}
    run_id = runs.log_stage(parent_run_id, "evaluate_guard", params=params)
    runs.log_evaluation(result.metrics, result.folder, run_id=run_id)
    return run_id


def roc_curve_of(predictions: list[dict]) -> RocCurve | None:
    """The ROC curve of the scored predictions; ``None`` unless both labels occur."""
    from sklearn.metrics import roc_curve

    scored = [record for record in predictions if record.get("score") is not None]
    if len({record["label"] for record in scored}) != 2:
        return None
    fpr, tpr, thresholds = roc_curve(
        [record["label"] == UNSAFE for record in scored], [record["score"] for record in scored]
    )
    # sklearn's first threshold is +inf, which metadata (JSON) cannot carry.
    finite = [min(float(t), 1.0) if math.isfinite(t) else 1.0 for t in thresholds]
    return RocCurve(list(map(float, fpr)), list(map(float, tpr)), finite)
