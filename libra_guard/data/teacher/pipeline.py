"""``synthesize``: the whole teacher-synthesis run, and ``plan_requests`` for ``--dry-run``.

Everything a run writes sits beside ``OUT`` (the agreed rows, JSON Lines, with ``OUT.sha256``):

    OUT.stages/01-combinations.jsonl ... 07-agreed.jsonl   each stage's output, kept
    OUT.stages/dropped.jsonl                               every dropped item and the reason
    OUT.cache/                                             replies by request hash (resume)
    OUT.report.json                                        counts, drop reasons, costs

A killed run is resumed by running the same command again: every finished request is read
from ``OUT.cache`` and only the missing ones are sent; a complete rerun sends none. A failing
endpoint stops the run with ``EndpointError`` after the stages before it were written.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from libra_guard.data.digest import dataset_digest, write_digest
from libra_guard.data.io import write_jsonl
from libra_guard.data.schema import GuardRow
from libra_guard.data.teacher.config import TeacherConfig
from libra_guard.data.teacher.report import build_report, log_to_mlflow
from libra_guard.data.teacher.stages import TeacherRun
from libra_guard.errors import DataError

STAGES = ("combinations", "queries", "augmented", "deduplicated", "answers", "judged", "agreed")


@dataclass(frozen=True)
class SynthesisResult:
    """What a run produced: the rows, the report, where the files are, and the digest."""

    rows: list[GuardRow]
    report: dict
    out_path: Path
    digest: str
    mlflow_run_id: str | None = None


def side_paths(out: Path) -> dict[str, Path]:
    """Where a run keeps its stage outputs, cache and report, beside ``out``."""
    return {
        "stages": out.with_name(out.name + ".stages"),
        "cache": out.with_name(out.name + ".cache"),
        "report": out.with_name(out.name + ".report.json"),
    }


def plan_requests(config: TeacherConfig, n: int) -> dict[str, dict[str, int]]:
    """Requests per stage and role for ``n`` queries, before any is sent.

    Counts after stage 2 are upper bounds: deduplication and dropped replies only lower them.
    """
    combos = math.ceil(n / config.queries_per_combination)
    candidates = n * (1 + len(config.augmentations))
    answers = candidates * len(config.answerers)
    return {
        "queries": {"generator": combos},
        "augmented": {"rewriter": n * len(config.augmentations)},
        "answers": {f"answerer[{i}]": candidates for i in range(len(config.answerers))},
        "judged": {f"judge[{i}]": answers for i in range(len(config.judges))},
    }


def synthesize(
    config: TeacherConfig,
    n: int,
    out: str | Path,
    *,
    log: Callable[[str], object] = print,
    mlflow: bool = True,
    tracking_uri: str | None = None,
) -> SynthesisResult:
    """Run every stage for ``n`` generated queries and write the agreed rows to ``out``.

    Raises:
        EndpointError: an endpoint is unreachable, refuses the key or does not know the model.
        ConfigError: an endpoint's key variable is unset.
        DataError: ``n`` is not positive or an output cannot be written.
    """
    if n < 1:
        raise DataError(f"--n must be at least 1, got {n}")
    out = Path(out)
    paths = side_paths(out)
    for endpoint in config.endpoints().values():
        endpoint.api_key()  # an unset key variable fails before the first request
    run = TeacherRun(config, paths["cache"])
    stages: dict[str, list[dict]] = {}

    def keep(number: int, name: str, items: list[dict]) -> list[dict]:
        stages[name] = items
        write_jsonl(items, paths["stages"] / f"{number:02d}-{name}.jsonl")
        log(f"stage {number} {name}: {len(items)} rows")
        return items

    combos = keep(1, "combinations", run.combinations(n))
    queries = keep(2, "queries", run.queries(combos, n))
    candidates = keep(3, "augmented", run.augmented(queries))
    unique = keep(4, "deduplicated", run.deduplicated(candidates))
    answers = keep(5, "answers", run.answers(unique))
    judged = keep(6, "judged", run.judged(answers))
    agreed = keep(7, "agreed", run.agreed(judged))
    write_jsonl(run.ledger.dropped, paths["stages"] / "dropped.jsonl")

    rows = [guard_row(item, config.source) for item in agreed]
    written = Path(write_jsonl(rows, out))
    digest = dataset_digest(rows)
    write_digest(out, digest)
    outputs = {"rows": str(written), **{key: str(path) for key, path in paths.items()}}
    report = build_report(n, stages, run.ledger.dropped, run.ledger.costs, outputs)
    report["digest"] = digest
    run_id = None
    if mlflow:
        params = {"n": n, "seed": config.seed, "engine": config.engine}
        params.update({role: e.label for role, e in config.endpoints().items()})
        run_id = log_to_mlflow(report, params, tracking_uri)
        report["mlflow_run_id"] = run_id
    write_jsonl([report], paths["report"]) if False else _write_report(report, paths["report"])
    return SynthesisResult(rows, report, written, digest, run_id)


def guard_row(item: dict, source: str) -> GuardRow:
    """An agreed item as a Libra-Test row; the first judge's analysis is the critique."""
    return GuardRow(
        id=item["id"],
        source=source,
        category_name=item["scenario"],
        sub_category_name=item["subcategory"],
        question=item["query"],
        response=item["response"],
        label=item["judge0_label"],
        analyze=item["judge0_analysis"],
        answerer=item["answerer"],
        augmentation=item["augmentation"],
    )


def _write_report(report: dict, path: Path) -> None:
    import json

    from libra_guard.atomic import write_file_atomic

    write_file_atomic(path, json.dumps(report, ensure_ascii=False, indent=2))
