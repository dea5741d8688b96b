"""The embedded-default run: prepare data, train both stages on Ray, evaluate.

This is what ``make demo`` runs on one machine with no cluster. Every dataset is validated
(bad rows quarantined beside it), deduplicated and digested; the held-out test set is cleaned
of any (question, response) pair that also occurs in training, so the scores measure
generalisation rather than recall.

Data by default (all generated here, seeded):

- stage 1: the synthetic generator's default flavour;
- stage 2: the "hard" flavour with another seed, standing in for real data;
- test: held-out rows of both flavours (new seeds), scored per source like Libra-Test.

``real_data`` (e.g. ``../shared/data/jade-v3-medium.jsonl``) replaces the stage-2 stand-in:
it is validated, split by question, its train part becomes stage 2 and its test part joins
the held-out synthetic rows in the test set.

Usage::

    libra-guard demo                                  # about 5-10 minutes on 2 CPU cores
    libra-guard demo --real-data ../shared/data/jade-v3-medium.jsonl
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from libra_guard.config_files import read_config_mapping
from libra_guard.data.dedup import content_key
from libra_guard.data.io import read_rows, write_jsonl
from libra_guard.data.schema import GuardRow
from libra_guard.data.split import split_by_question
from libra_guard.data.validate import ValidationReport, validate_file
from libra_guard.errors import ConfigError, DataError
from libra_guard.settings import Settings
from libra_guard.training.config import TrainConfig

Log = Callable[[str], None]


class DemoConfig(BaseModel):
    """Sizes and seeds of the embedded-default run; defaults fit 2 CPU cores in minutes."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    stage1_rows: int = Field(default=2000, ge=10, description="Synthetic stage-1 rows.")
    stage2_rows: int = Field(
        default=600, ge=10, description="Synthetic 'hard' stage-2 rows when no real data."
    )
    test_rows_per_source: int = Field(
        default=250, ge=10, description="Held-out synthetic test rows of each flavour."
    )
    real_data: str | None = Field(
        default=None, description="A real labelled JSONL/JSON that replaces the stage-2 data."
    )
    extra_real_data: list[str] = Field(
        default_factory=list,
        description="More real labelled sources (e.g. imported feedback), each validated and "
        "split like real_data into stage 2 and the test set, in addition to it.",
    )
    real_test_fraction: float = Field(default=0.2, gt=0, lt=1)
    teacher_config: str | None = Field(
        default=None,
        description="A teacher-synthesis YAML (libra_guard.data.teacher): stage-1 rows come "
        "from OpenAI-compatible endpoints, stage1_rows queries; None: the template generator.",
    )
    eval_mode: Literal["generate", "verdict"] = "verdict"
    eval_batch_size: int = Field(default=16, ge=1)
    train: TrainConfig = Field(default_factory=TrainConfig)


@dataclass
class PreparedData:
    """Validated, digested data files of one run."""

    stage1: Path
    stage2: Path
    test: Path
    reports: dict[str, ValidationReport] = field(default_factory=dict)
    removed_from_test: int = 0
    #: Each real-data source (URI) and the digest of its validated rows, for the lineage.
    sources: dict[str, str] = field(default_factory=dict)
    #: Validation of ``real_data`` before its split (its bad rows are quarantined there).
    real_report: ValidationReport | None = None

    def quarantine_reports(self) -> dict[str, ValidationReport]:
        """Every validation whose quarantine file a run keeps: the datasets, and real data."""
        return {**({"real": self.real_report} if self.real_report else {}), **self.reports}

    def digests(self) -> dict[str, str]:
        """The digest of each dataset, and of each real source as ``source:URI``."""
        named = {name: report.digest for name, report in self.reports.items()}
        return named | {f"source:{uri}": digest for uri, digest in self.sources.items()}


@dataclass
class DemoResult:
    data: PreparedData
    model_dir: Path
    eval_dir: Path
    metrics: dict


def prepare_data(config: DemoConfig, data_dir: Path, settings: Settings, log: Log) -> PreparedData:
    """Write stage-1, stage-2 and test files under ``data_dir``, each validated and digested."""
    from libra_guard.data.synth import generate

    raw_dir = data_dir / "raw"
    seed = config.seed
    sources: dict[str, str] = {}
    if config.teacher_config:
        from libra_guard.data.teacher.stage1 import teacher_stage1_rows

        stage1 = teacher_stage1_rows(config.teacher_config, config.stage1_rows, settings, log)
    else:
        stage1 = generate(config.stage1_rows, seed).rows
    test_rows = [
        *generate(config.test_rows_per_source, seed + 101).rows,
        *generate(config.test_rows_per_source, seed + 102, hard=True).rows,
    ]
    real = None
    if config.real_data:
        real = _validated(config.real_data, data_dir / "real.jsonl", settings, log)
        real_rows = read_rows(real.out_path, settings)
        stage2, real_test = split_by_question(real_rows, config.real_test_fraction, seed)
        log(f"{config.real_data}: {len(stage2)} rows to stage 2, {len(real_test)} to the test set")
        test_rows.extend(real_test)
        sources[config.real_data] = real.digest
    else:
        stage2 = generate(config.stage2_rows, seed + 1, hard=True).rows
    for index, uri in enumerate(config.extra_real_data):
        extra = _validated(uri, data_dir / f"extra-{index}.jsonl", settings, log)
        extra_train, extra_test = split_by_question(
            read_rows(extra.out_path, settings), config.real_test_fraction, seed
        )
        log(f"{uri}: {len(extra_train)} rows to stage 2, {len(extra_test)} to the test set")
        stage2 = [*stage2, *extra_train]
        test_rows.extend(extra_test)
        sources[uri] = extra.digest
    test_rows, removed = _without_training_overlap(test_rows, [*stage1, *stage2])
    if removed:
        log(f"test set: removed {removed} rows whose (question, response) occurs in training")
    reports = {}
    paths = {}
    for name, rows in (("stage1", stage1), ("stage2", stage2), ("test", test_rows)):
        raw = write_jsonl(rows, raw_dir / f"{name}.jsonl")
        report = _validated(raw, data_dir / f"{name}.jsonl", settings, log)
        reports[name] = report
        paths[name] = Path(report.out_path)
    return PreparedData(
        stage1=paths["stage1"],
        stage2=paths["stage2"],
        test=paths["test"],
        reports=reports,
        removed_from_test=removed,
        real_report=real,
        sources=sources,
    )


def run_demo(
    config: DemoConfig, out_dir: Path, settings: Settings | None = None, log: Log = print
) -> DemoResult:
    """Prepare data, train both stages, evaluate; rerunning resumes finished training stages."""
    from libra_guard.evaluation.runner import evaluate_model
    from libra_guard.training.runner import train_guard

    settings = settings or Settings()
    out_dir = Path(out_dir)
    data = prepare_data(config, out_dir / "data", settings, log)
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
    log(f"evaluating {outcome.final_dir} on {data.test} ({config.eval_mode} mode)")
    metrics = evaluate_model(
        outcome.final_dir,
        read_rows(data.test, settings),
        eval_dir,
        mode=config.eval_mode,
        batch_size=config.eval_batch_size,
        with_scores=True,
    )
    return DemoResult(data=data, model_dir=outcome.final_dir, eval_dir=eval_dir, metrics=metrics)


def _validated(uri: str | Path, out: Path, settings: Settings, log: Log) -> ValidationReport:
    report = validate_file(uri, out, settings=settings)
    if report.kept == 0:
        raise DataError(f"{uri}: no valid rows; see {report.quarantine_path}")
    note = ""
    if report.quarantined:
        note = f", {report.quarantined} quarantined in {report.quarantine_path}"
    log(f"{out.name}: {report.kept} rows, sha256 {report.digest[:12]}{note}")
    return report


def _without_training_overlap(
    test_rows: Sequence[GuardRow], training_rows: Sequence[GuardRow]
) -> tuple[list[GuardRow], int]:
    seen = {content_key(row) for row in training_rows}
    kept = [row for row in test_rows if content_key(row) not in seen]
    return kept, len(test_rows) - len(kept)


def load_demo_config(path: Path | None = None, **overrides: object) -> DemoConfig:
    """The demo config from a YAML file with top-level overrides (``None`` values skipped).

    Raises:
        ConfigError: the file cannot be read or a value is invalid.
    """
    values = read_config_mapping(path, "demo config")
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return DemoConfig.model_validate(values)
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        raise ConfigError(f"invalid demo config{where}: {exc}") from exc
