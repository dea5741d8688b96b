"""The run's data preparation: generate or read, validate, split, deduplicate and digest.

Every run (the local demo, the pipeline's ``prepare_data`` step, a cluster run) prepares its
data here. Every dataset is validated (bad rows quarantined beside it), deduplicated and
digested; the held-out test set is cleaned of any (question, response) pair that also occurs
in training, so the scores measure generalisation rather than recall.

Data by default (all generated here, seeded):

- stage 1: the synthetic generator's default flavour (or teacher models, ``teacher_config``);
- stage 2: the "hard" flavour with another seed, standing in for real data;
- test: held-out rows of both flavours (new seeds), scored per source like Libra-Test.

Each generated set also carries prompt-task rows (``prompt_task_share`` of its size, from its
own questions, labelled with the question's harm; ``synth.generator``), so both stages train
both tasks and the test set scores both. Real and teacher-made sets stay response rows: they
have no label for the question alone.

``real_data`` (e.g. ``../shared/data/jade-v3-medium.jsonl``) replaces the stage-2 stand-in:
it is validated, split by question, its train part becomes stage 2 and its test part joins
the held-out synthetic rows in the test set. Each of ``extra_real_data`` (imported feedback,
for one) is split the same way and joins both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from libra_guard.data.dedup import content_key
from libra_guard.data.io import read_rows, write_jsonl
from libra_guard.data.schema import GuardRow
from libra_guard.data.split import split_by_question
from libra_guard.data.validate import ValidationReport, validate_file
from libra_guard.errors import DataError
from libra_guard.settings import Settings

Log = Callable[[str], None]
#: Prompt-task rows per response row by default. Measured on the demo's data (2,000 stage-1 and
#: 600 stage-2 rows, its tokenizer, max_length 448): +20% rows (2,400 and 720) and +12% training
#: tokens (stage 1: 300,200 -> 337,000; stage 2: 94,600 -> 106,000); prompt rows have no
#: response, so they are short. 0.25 would cost +25% rows, +15% tokens.
DEFAULT_PROMPT_TASK_SHARE = 0.2


class DataConfig(BaseModel):
    """Which data a run trains and tests on: sizes and seeds of the generated sets, the real
    sources that join them; the defaults fit 2 CPU cores in minutes."""

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
    prompt_task_share: float = Field(
        default=DEFAULT_PROMPT_TASK_SHARE,
        ge=0,
        le=0.5,  # synth.generator.MAX_PROMPT_SHARE (not imported: it loads the lexicon)
        description="Prompt-task rows per generated response row (stage 1, the stage-2 "
        "stand-in and the synthetic test rows), from the same questions; 0: response rows only.",
    )
    teacher_config: str | None = Field(
        default=None,
        description="A teacher-synthesis YAML (libra_guard.data.teacher): stage-1 rows come "
        "from OpenAI-compatible endpoints, stage1_rows queries; None: the template generator.",
    )


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


def prepare_data(config: DataConfig, data_dir: Path, settings: Settings, log: Log) -> PreparedData:
    """Write stage-1, stage-2 and test files under ``data_dir``, each validated and digested."""
    from libra_guard.data.synth import generate

    raw_dir = data_dir / "raw"
    seed = config.seed
    share = config.prompt_task_share
    sources: dict[str, str] = {}
    if config.teacher_config:
        from libra_guard.data.teacher.stage1 import teacher_stage1_rows

        stage1 = teacher_stage1_rows(config.teacher_config, config.stage1_rows, settings, log)
    else:
        stage1 = generate(config.stage1_rows, seed, prompt_share=share).rows
    test_rows = [
        *generate(config.test_rows_per_source, seed + 101, prompt_share=share).rows,
        *generate(config.test_rows_per_source, seed + 102, hard=True, prompt_share=share).rows,
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
        stage2 = generate(config.stage2_rows, seed + 1, hard=True, prompt_share=share).rows
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
