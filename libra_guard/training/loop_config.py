"""``StageLoopConfig``: everything one stage's Ray Train workers need, typed.

The driver builds it (``stage_loop_config``) from the ``TrainConfig`` and the stage's rows;
Ray Train carries a plain dict to the workers (``to_loop_dict``), and each worker reads it
back with ``StageLoopConfig.model_validate`` before touching a field, so a missing or
misspelt key fails at the start of the stage, not in the middle of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from libra_guard.data.schema import GuardRow
from libra_guard.modeling.lora import LoraSettings
from libra_guard.settings import Settings
from libra_guard.training.config import Engine, Method, StageName, TrainConfig


class StageLoopConfig(BaseModel):
    """The settings of one stage's training loop on every worker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: StageName
    model_source: str
    #: Where workers keep fetched ``s3://`` bases; absolute (workers do not share the
    #: driver's working directory).
    model_cache: str
    rows: list[GuardRow]
    method: Method
    lora: LoraSettings
    epochs: float
    learning_rate: float
    batch_size: int
    warmup_steps: int
    weight_decay: float
    checkpoint_every: int
    max_length: int
    seed: int
    threads: int | None
    report_every: int
    validation: dict[str, list[GuardRow]]
    evals_per_epoch: int
    prompt_loss_weight: float
    gradient_checkpointing: bool = False
    engine: Engine = "native"
    sharding: Literal["none", "fsdp"] = "none"

    def to_loop_dict(self) -> dict:
        """The JSON-able dict Ray Train hands to ``train_stage_per_worker`` (rows as
        ``GuardRow.to_json_dict``, the form the run key digests)."""
        loop = self.model_dump(mode="json", exclude={"rows", "validation"})
        loop["rows"] = [row.to_json_dict() for row in self.rows]
        loop["validation"] = {
            name: [row.to_json_dict() for row in held] for name, held in self.validation.items()
        }
        return loop


def stage_loop_config(
    name: StageName,
    config: TrainConfig,
    rows: Sequence[GuardRow],
    source: str,
    validation: Mapping[str, Sequence[GuardRow]] | None = None,
    settings: Settings | None = None,
) -> StageLoopConfig:
    """The loop config of stage ``name`` (validation sets without rows are dropped)."""
    stage = config.stage(name)
    return StageLoopConfig(
        **{
            "stage": name,
            "model_source": source,
            "model_cache": str(((settings or Settings()).state_dir / "models" / "bases").resolve()),
            "rows": list(rows),
            "method": config.method(name),
            "lora": config.lora,
            "epochs": stage.epochs,
            "learning_rate": stage.learning_rate,
            "batch_size": stage.batch_size,
            "warmup_steps": stage.warmup_steps,
            "weight_decay": stage.weight_decay,
            "checkpoint_every": stage.checkpoint_every,
            "max_length": config.max_length,
            "seed": config.seed,
            "threads": config.threads_per_worker,
            "report_every": config.report_every,
            "validation": {name: list(held) for name, held in (validation or {}).items() if held},
            "evals_per_epoch": stage.evals_per_epoch,
            "prompt_loss_weight": stage.prompt_loss_weight,
            "gradient_checkpointing": config.gradient_checkpointing,
            "engine": config.engine,
            "sharding": config.sharding,
        }
    )
