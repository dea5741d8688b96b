"""Step ``prepare_data``: synthesise (or read) the run's datasets, validate and digest them,
and publish each one atomically at the path the orchestrator gave it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from libra_guard.atomic import write_file_atomic
from libra_guard.data.preparation import DataConfig
from libra_guard.data.preparation import prepare_data as prepare_datasets
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
    test rows were dropped because their (question, response) pair occurs in training;
    the quarantined count per quarantine file, and each real source (feedback among them)
    with its digest."""

    datasets: dict[str, DatasetFacts]
    removed_from_test: int
    quarantined: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def prepare(
    config: DataConfig,
    targets: Mapping[str, str | Path],
    settings: Settings,
    log: Callable[[str], None] = print,
    quarantine_dir: str | Path | None = None,
) -> PreparedDatasets:
    """Prepare the datasets and write each named one to ``targets[name]``; with
    ``quarantine_dir``, publish each quarantine file there (``<name>.quarantine.jsonl``).

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
        quarantined = {
            name: report.quarantined for name, report in prepared.quarantine_reports().items()
        }
        if quarantine_dir is not None:
            _publish_quarantine(Path(quarantine_dir), prepared.quarantine_reports())
    return PreparedDatasets(facts, prepared.removed_from_test, quarantined, dict(prepared.sources))


def _publish_quarantine(folder: Path, reports: Mapping[str, object]) -> None:
    """Copy each quarantine file into ``folder``, replacing it whole."""
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, report in reports.items():
        shutil.copyfile(report.quarantine_path, staging / f"{name}.quarantine.jsonl")  # type: ignore[attr-defined]
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)


def log_prepared(
    parent_run_id: str,
    config: DataConfig,
    prepared: PreparedDatasets,
    targets: Mapping[str, str | Path],
    quarantine_dir: str | Path | None = None,
) -> None:
    """Log the step as a nested run of the pipeline run, each dataset and real source as an
    input, the quarantine folder as an artifact."""
    run_id = runs.log_stage(
        parent_run_id,
        "prepare_data",
        params=config.model_dump(mode="json"),
        metrics={
            **{f"{name}_rows": facts.rows for name, facts in prepared.datasets.items()},
            **{f"{name}_quarantined": count for name, count in prepared.quarantined.items()},
        },
        artifacts=[str(quarantine_dir)] if quarantine_dir is not None else [],
    )
    for name, facts in prepared.datasets.items():
        context = "evaluation" if name == "test" else "training"
        runs.log_dataset_input(targets[name], facts.sha256, name, context=context, run_id=run_id)
    for uri, digest in prepared.sources.items():
        runs.log_dataset_input(uri, digest, f"source:{uri}", context="source", run_id=run_id)
