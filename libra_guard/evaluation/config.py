"""How a run evaluates its model: one typed value shared by the demo and the pipeline config
(the pipeline dumps it into its ``eval_mode``/``eval_batch_size`` arguments, the KFP boundary)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EvalConfig(BaseModel):
    """``verdict`` reads P(不安全) in one forward pass per row; ``generate`` is the paper's
    greedy decoding of the verdict (slower, same scoring rule)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["generate", "verdict"] = "verdict"
    batch_size: int = Field(default=16, ge=1, description="Rows per forward pass.")
