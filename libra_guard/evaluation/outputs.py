"""What one evaluation leaves on disk, every file written atomically.

``out_dir`` receives:

- ``metrics.json``: the metrics of :func:`compute_metrics` plus a ``run`` block (model or
  predictions file, mode, threshold, counts of missing and ignored predictions);
- ``predictions.jsonl``: one row per data row, in data order: ``id, source, category_name,
  sub_category_name, task, label, critic`` (the raw answer, ``null`` if there was none),
  ``prediction`` (the scored verdict, ``null`` if unscorable), ``correct`` (unscorable counts
  wrong) and ``score`` (P(不安全)) when scores were computed;
- ``per_category_accuracy.png`` and ``confusion_matrix.png``.

``read_metrics`` and ``read_predictions`` read the two data files back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from libra_guard.atomic import write_file_atomic
from libra_guard.data.schema import GuardRow
from libra_guard.evaluation.plots import plot_category_accuracy, plot_confusion_matrix

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.jsonl"
CATEGORY_PLOT_FILE = "per_category_accuracy.png"
CONFUSION_PLOT_FILE = "confusion_matrix.png"


@dataclass(frozen=True)
class EvaluationFiles:
    """Where one evaluation's files are."""

    metrics: Path
    predictions: Path
    category_plot: Path
    confusion_plot: Path

    @classmethod
    def in_folder(cls, out_dir: Path) -> EvaluationFiles:
        out_dir = Path(out_dir)
        return cls(
            metrics=out_dir / METRICS_FILE,
            predictions=out_dir / PREDICTIONS_FILE,
            category_plot=out_dir / CATEGORY_PLOT_FILE,
            confusion_plot=out_dir / CONFUSION_PLOT_FILE,
        )


def prediction_records(
    rows: Sequence[GuardRow],
    critics: Sequence[str | None],
    predictions: Sequence[str | None],
    scores: Sequence[float] | None = None,
) -> list[dict]:
    """The rows of ``predictions.jsonl``: each data row with its answer, verdict and outcome."""
    records = []
    for index, row in enumerate(rows):
        record = {
            "id": row.id,
            "source": row.source,
            "category_name": row.category_name,
            "sub_category_name": row.sub_category_name,
            "task": row.task,
            "label": row.label,
            "critic": critics[index],
            "prediction": predictions[index],
            # An unscorable answer (None) is never equal to a label, so it counts wrong.
            "correct": predictions[index] == row.label,
        }
        if scores is not None:
            record["score"] = float(scores[index])
        records.append(record)
    return records


def write_evaluation(out_dir: Path, metrics: dict, records: Sequence[dict]) -> EvaluationFiles:
    """Write the metrics, the per-row predictions and both figures into ``out_dir``."""
    files = EvaluationFiles.in_folder(out_dir)
    lines = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    write_file_atomic(files.predictions, lines)
    plot_category_accuracy(metrics["by_category"], files.category_plot)
    plot_confusion_matrix(metrics["confusion_matrix"], files.confusion_plot)
    # The metrics go last: their presence says the evaluation finished.
    write_file_atomic(files.metrics, json.dumps(metrics, ensure_ascii=False, indent=2) + "\n")
    return files


def read_metrics(out_dir: Path) -> dict:
    """The ``metrics.json`` that ``write_evaluation`` wrote into ``out_dir``."""
    return json.loads(EvaluationFiles.in_folder(out_dir).metrics.read_text(encoding="utf-8"))


def read_predictions(out_dir: Path) -> list[dict]:
    """The rows of the ``predictions.jsonl`` that ``write_evaluation`` wrote into ``out_dir``."""
    text = EvaluationFiles.in_folder(out_dir).predictions.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]
