"""Publishing trained models: a stage's folder with its record, the final folder with its
provenance, each swapped in whole (``atomic.staged_folder``), and the readers beside them.

- ``OUT/<stage>/`` holds the stage's model and ``STAGE_INFO`` (a ``StageOutcome``);
  ``read_stage_outcome`` reads it back (a pipeline step that got stage 1 from another step).
- ``OUT/final/`` holds the last stage's model and ``PROVENANCE`` (``libra_guard.json``: base,
  stages, data digests, config, library versions), which registration reads.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from libra_guard.atomic import staged_folder
from libra_guard.errors import ModelError
from libra_guard.modeling.presets import is_preset
from libra_guard.training.config import TrainConfig

STAGE_INFO = "libra_guard_stage.json"

PROVENANCE = "libra_guard.json"


@dataclass(frozen=True)
class StageOutcome:
    """What one stage produced."""

    name: str
    method: str
    rows: int
    model_dir: str
    steps: int
    final_loss: float
    samples_per_s: float
    seconds: float
    resumed_from_step: int
    skipped: bool = False
    best_step: int | None = None
    best_val_accuracy: float | None = None
    run_key: str = ""
    #: The engine that trained the stage and how it held the weights (``hf_engine`` reports
    #: ``fsdp`` only when the Trainer really sharded them).
    engine: str = "native"
    sharding: str = "none"


def read_stage_outcome(stage_dir: Path, *, skipped: bool = False) -> StageOutcome:
    """The ``StageOutcome`` recorded in a published stage folder (its ``STAGE_INFO``).

    Raises:
        ModelError: the folder holds no readable stage record.
    """
    try:
        info = json.loads((Path(stage_dir) / STAGE_INFO).read_text(encoding="utf-8"))
        return StageOutcome(
            **{**info, "model_dir": str(Path(stage_dir).resolve()), "skipped": skipped}
        )
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{Path(stage_dir) / STAGE_INFO} is not a stage record: {exc}") from exc


def publish_final(
    config: TrainConfig,
    stages: Sequence[StageOutcome],
    final_dir: Path,
    data_digests: dict | None = None,
) -> Path:
    """Copy the last stage's model to ``final_dir`` with ``libra_guard.json`` provenance."""
    final_dir = Path(final_dir)
    provenance = {
        "base_model": config.base,
        "preset": config.base if is_preset(config.base) else None,
        "stages": [asdict(stage) for stage in stages],
        "data_digests": data_digests or {},
        "config": config.model_dump(mode="json"),
        "versions": _versions(),
    }
    publish_model(Path(stages[-1].model_dir), final_dir, {PROVENANCE: provenance})
    return final_dir


def publish_model(source: Path, target: Path, extra_json: dict[str, object]) -> None:
    """Copy the model folder ``source`` to ``target`` with extra JSON files, atomically."""
    with staged_folder(target) as staging:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        for file_name, content in extra_json.items():
            (staging / file_name).write_text(
                json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8"
            )


def _versions() -> dict[str, str]:
    import peft
    import ray
    import torch
    import transformers

    import libra_guard

    return {
        "libra_guard": libra_guard.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "ray": ray.__version__,
    }
