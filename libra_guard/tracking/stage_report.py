"""What a pipeline's training step reports once its stage is done.

Both training components (``pretrain_guard``, ``finetune_guard``) call this from their bodies:
KFP ships a component's source alone to the step, so shared code must live in an installed
package, and importing the ``components`` package inside a running step re-enters KFP's own
half-imported modules. The artifacts are used by duck typing (``log_metric``, ``path``,
``metadata``, ``uri``), so the core still imports no KFP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from libra_guard.atomic import write_file_atomic
from libra_guard.settings import Settings
from libra_guard.tracking import runs
from libra_guard.training.config import TrainConfig
from libra_guard.training.curve import TrainingCurve
from libra_guard.training.publish import StageOutcome


def report_stage(
    step: str,
    outcome: StageOutcome,
    config: TrainConfig,
    model: Any,
    metrics: Any,
    digests: dict[str, str],
) -> None:
    """Log the stage's figures to the ``Metrics`` artifact, the model's metadata and MLflow.

    Args:
        step: the pipeline step's name, used as the nested MLflow run's name.
        outcome: what the stage produced.
        config: the training config of the stage.
        model: the step's output ``Model`` artifact (metadata is updated in place).
        metrics: the step's output ``Metrics`` artifact.
        digests: dataset digests the model was trained on, by dataset name.
    """
    figures = {
        "steps": outcome.steps,
        "final_loss": outcome.final_loss,
        "samples_per_s": outcome.samples_per_s,
        "seconds": outcome.seconds,
    }
    for name, value in figures.items():
        metrics.log_metric(name, value)
    # The figures travel as metadata; the file also makes the artifact exist on disk, which
    # the local runner's cache requires before it reuses this step.
    write_file_atomic(metrics.path, json.dumps(figures))
    model.metadata.update(
        {**figures, "method": outcome.method, "rows": outcome.rows, "base_model": config.base}
    )
    model.metadata["data_sha256"] = digests
    parent_run_id = Settings().mlflow_parent_run_id
    if parent_run_id:
        runs.log_stage(
            parent_run_id,
            step,
            params={
                **config.model_dump(mode="json"),
                "method": outcome.method,
                "rows": outcome.rows,
            },
            metrics=figures,
            step_metrics=TrainingCurve.load(Path(outcome.model_dir)).series(),
            tags={"libra.model_uri": model.uri},
        )
