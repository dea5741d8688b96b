"""One shared set of real local pipeline runs (KFP local runner, Ray, MLflow on SQLite).

Three runs on one state dir, in order, so the expensive steps run once:

1. lenient thresholds: every step executes, the gate passes, version 1 becomes champion;
2. the same inputs again: the data, training and evaluation steps come from the cache;
3. impossible thresholds: the same cached steps, then the gate fails and the rejection is
   recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from libra_guard.settings import Settings
from pipelines.local_run import LocalRunResult, run_locally
from tests.pipelines.tiny import IMPOSSIBLE_GATE, LENIENT_GATE, tiny_config


@dataclass
class PipelineRuns:
    settings: Settings
    first: LocalRunResult
    second: LocalRunResult
    rejected: LocalRunResult
    logs: list[list[str]]


@pytest.fixture(scope="module")
def pipeline_runs(tmp_path_factory: pytest.TempPathFactory) -> PipelineRuns:
    state_dir = tmp_path_factory.mktemp("pipeline-state")
    settings = Settings(
        state_dir=state_dir, mlflow_tracking_uri=f"sqlite:///{state_dir / 'mlflow.db'}"
    )
    logs: list[list[str]] = [[], [], []]
    results = [
        run_locally(tiny_config(gate), settings, log=lines.append)
        for gate, lines in zip((LENIENT_GATE, LENIENT_GATE, IMPOSSIBLE_GATE), logs, strict=True)
    ]
    return PipelineRuns(settings, *results, logs=logs)


def artifact_folders(pipeline_root: Path, step: str) -> list[Path]:
    """The output folders of ``step`` in every local pipeline run under ``pipeline_root``."""
    return sorted(pipeline_root.glob(f"libra-guard-*/{step}"))
