"""The embedded-default run on one machine, without KFP: prepare data, train both stages on
Ray, evaluate (``libra-guard demo``).

The run composes the same typed parts as the pipeline (``DataConfig``, ``TrainConfig``,
``EvalConfig``); the data preparation itself lives in ``libra_guard.data.preparation``, which
the pipeline's ``prepare_data`` step calls too.

Usage::

    libra-guard demo                                  # about 20-25 minutes on 2 CPU cores
    libra-guard demo --real-data ../shared/data/jade-v3-medium.jsonl
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from libra_guard.config_files import read_config_mapping
from libra_guard.data.io import read_rows
from libra_guard.data.preparation import DataConfig, PreparedData, prepare_data
from libra_guard.errors import ConfigError
from libra_guard.evaluation.config import EvalConfig
from libra_guard.settings import Settings
from libra_guard.training.config import TrainConfig

Log = Callable[[str], None]


class DemoConfig(BaseModel):
    """The parts of one run: which data, how to train, how to evaluate."""

    model_config = ConfigDict(extra="forbid")

    data: DataConfig = Field(default_factory=DataConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)

    @model_validator(mode="before")
    @classmethod
    def _refuse_flat_layout(cls, values: object) -> object:
        """Name the new place of a setting written in the old flat layout, instead of
        pydantic's bare "extra inputs are not permitted"."""
        if isinstance(values, dict):
            refuse_flat_layout(values)
        return values


def refuse_flat_layout(values: dict) -> None:
    """Raise for keys of the old flat layout (data and evaluation settings beside ``train``).

    Raises:
        ValueError: such a key is present; the message says where it goes now.
    """
    moved = {name: f"data.{name}" for name in DataConfig.model_fields}
    moved |= {"eval_mode": "eval.mode", "eval_batch_size": "eval.batch_size"}
    found = [f"{key} -> {moved[key]}" for key in values if key in moved]
    if found:
        raise ValueError("settings moved into the data:/eval: blocks: " + ", ".join(sorted(found)))


@dataclass
class DemoResult:
    data: PreparedData
    model_dir: Path
    eval_dir: Path
    metrics: dict


def run_demo(
    config: DemoConfig, out_dir: Path, settings: Settings | None = None, log: Log = print
) -> DemoResult:
    """Prepare data, train both stages, evaluate; rerunning resumes finished training stages."""
    from libra_guard.evaluation.runner import evaluate_model
    from libra_guard.training.runner import train_guard

    settings = settings or Settings()
    out_dir = Path(out_dir)
    data = prepare_data(config.data, out_dir / "data", settings, log)
    outcome = train_guard(
        config.train,
        read_rows(data.stage1, settings),
        read_rows(data.stage2, settings),
        out_dir / "model",
        settings=settings,
        data_digests=data.digests(),
        log=log,
    )
    eval_dir = out_dir / "eval"
    log(f"evaluating {outcome.final_dir} on {data.test} ({config.eval.mode} mode)")
    metrics = evaluate_model(
        outcome.final_dir,
        read_rows(data.test, settings),
        eval_dir,
        mode=config.eval.mode,
        batch_size=config.eval.batch_size,
        with_scores=True,
    )
    return DemoResult(data=data, model_dir=outcome.final_dir, eval_dir=eval_dir, metrics=metrics)


def load_demo_config(
    path: Path | None = None, overrides: dict[str, object] | None = None
) -> DemoConfig:
    """The demo config from a YAML file with overrides named ``block.field`` (``None`` values
    skipped), e.g. ``{"data.seed": 3}``.

    Raises:
        ConfigError: the file cannot be read or a value is invalid.
    """
    values = read_config_mapping(path, "demo config")
    for dotted, value in (overrides or {}).items():
        if value is not None:
            block, name = dotted.split(".", 1)
            values.setdefault(block, {})[name] = value
    try:
        return DemoConfig.model_validate(values)
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        raise ConfigError(f"invalid demo config{where}: {exc}") from exc
