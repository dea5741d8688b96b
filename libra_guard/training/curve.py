"""The per-step training curve of a stage: loss, learning rate and throughput of every step.

Why a file beside the checkpoint rather than Ray Train's results: Ray Train keeps the metrics
of its retained checkpoints only, and reports come in windows (see ``loop._Progress``), so the
driver never sees every step. Rank 0 appends one point per optimizer step, stores the curve in
every checkpoint (a resumed run continues it), and the stage's folder keeps it as
``training_curve.json``; the pipeline logs it to MLflow as step-indexed metrics, so runs
compare as curves in the MLflow UI.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

CURVE_FILE = "training_curve.json"
#: The series logged to MLflow, by metric name.
SERIES = ("loss", "objective", "lr", "samples_per_s", "tokens_per_s")


@dataclass(frozen=True)
class CurvePoint:
    """One optimizer step. ``tokens_per_s`` counts the tokens of all workers' batches
    (rank 0's count times the world size: batches are length-sorted, so close to exact)."""

    step: int
    loss: float
    objective: float
    lr: float
    samples_per_s: float
    tokens_per_s: float


class TrainingCurve:
    """The points of one stage, in step order."""

    def __init__(self, points: list[CurvePoint] | None = None) -> None:
        self.points = list(points or [])

    def record(self, point: CurvePoint) -> None:
        self.points.append(point)

    def save(self, folder: Path) -> None:
        (Path(folder) / CURVE_FILE).write_text(self.to_json(), encoding="utf-8")

    def to_json(self) -> str:
        return json.dumps([asdict(point) for point in self.points])

    @classmethod
    def load(cls, folder: Path) -> TrainingCurve:
        """The curve saved in ``folder``; empty when there is none (older checkpoints)."""
        path = Path(folder) / CURVE_FILE
        if not path.is_file():
            return cls()
        return cls([CurvePoint(**point) for point in json.loads(path.read_text("utf-8"))])

    def series(self) -> dict[str, list[tuple[int, float]]]:
        """``{metric: [(step, value), ...]}`` for ``tracking.runs.log_stage``'s step metrics."""
        return {
            name: [(point.step, float(getattr(point, name))) for point in self.points]
            for name in SERIES
        }
