"""Step ``prepare_data``: synthesise (or read) the run's datasets, validate and digest them,
and publish each one atomically at the path the orchestrator gave it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from libra_guard.atomic import write_file_atomic
from libra_guard.demo import DemoConfig
from libra_guard.demo import prepare_data as prepare_datasets
from libra_guard.settings import Settings
from libra_guard.tracking import runs


@dataclass(frozen=True)
class DatasetFacts:
    """What travels with a published dataset: its digest and row counts."""

    sha256: str
    rows: int
    quarantined: int


@dataclass(frozen=True)
class PreparedDatasets:
    """The facts of each published dataset (``stage1``, ``stage2``, ``test``), and how many
    test rows were dropped because their (question, response) pair occurs in training."""

    datasets: dict[str, DatasetFacts]
    removed_from_test: int


def prepare(
    config: DemoConfig,
    targets: Mapping[str, str | Path],
    settings: Settings,
    log: Callable[[str], None] = print,
) -> PreparedDatasets:
    """Prepare the datasets and write each named one to ``targets[name]``.

    Raises:
        DataError: the real-data file is unreadable or holds no usable row.
    """
    facts = {}
    with tempfile.TemporaryDirectory(prefix="prepare-data-") as work:
        prepared = prepare_datasets(config, Path(work), settings, log)
        for name, target in targets.items():
            report = prepared.reports[name]
            write_file_atomic(target, Path(report.out_path).read_bytes())
            facts[name] = DatasetFacts(report.digest, report.kept, report.quarantined)
    return PreparedDatasets(facts, prepared.removed_from_test)


def log_prepared(
    parent_run_id: str,
    config: DemoConfig,
    prepared: PreparedDatasets,
    targets: Mapping[str, str | Path],
) -> None:
    """Log the step as a nested run of the pipeline run, each dataset as an input."""
    run_id = runs.log_stage(
        parent_run_id,
        "prepare_data",
        params=config.model_dump(mode="json", exclude={"train"}),
        metrics={f"{name}_rows": facts.rows for name, facts in prepared.datasets.items()},
    )
    for name, facts in prepared.datasets.items():
        context = "evaluation" if name == "test" else "training"
        runs.log_dataset_input(targets[name], facts.sha256, name, context=context, run_id=run_id)
