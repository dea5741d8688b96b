"""Validate a dataset: keep every good row, quarantine every bad one with the reason.

Nothing vanishes: a record is either written to OUT or to the quarantine file beside it
(``clean.jsonl`` -> ``clean.quarantine.jsonl``), one JSON object per record with ``line``
(1-based line number in a JSONL input, 0-based index in a JSON list or hub dataset), ``kind``
(the reason's class, for counting), ``reason`` (what to fix) and ``raw`` (the record's
original text; a line that is not UTF-8 also keeps its exact bytes, base64-encoded, in
``raw_base64``). Checks, in order:

1. the line is at most ``max_line_bytes`` long (a longer one is skipped unread, not loaded),
   decodes as UTF-8 and parses as a JSON object;
2. it satisfies the Libra-Test schema, with question and response at most ``max_chars``
   characters, no lone surrogate and no NaN or Infinity anywhere (``row_checks.parse_row``);
   extra fields are kept as they are, nulls included;
3. its id was not seen before;
4. its normalised (question, response) was not seen before (``dedup.dedup_rows``).

OUT is written as JSON Lines with its sha256 digest beside it (``OUT.sha256``); the quarantine
file is always written, empty when every row is good, so a pipeline can rely on it existing.
OUT may not be the input file (that would overwrite the data being read).
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from libra_guard.data.dedup import dedup_rows
from libra_guard.data.digest import dataset_digest, write_digest
from libra_guard.data.io import (
    DEFAULT_MAX_LINE_BYTES,
    LINE_TOO_LONG,
    RawRecord,
    iter_raw_records,
    write_jsonl,
)
from libra_guard.data.row_checks import RowProblem, parse_row
from libra_guard.data.schema import DEFAULT_MAX_TEXT_CHARS, GuardRow
from libra_guard.data.sources import refuse_overlapping_outputs, resolve_source, sibling_uri
from libra_guard.settings import Settings

logger = logging.getLogger(__name__)
QUARANTINE_SUFFIX = ".quarantine.jsonl"
_PROGRESS_EVERY = 100_000
_EXAMPLES = 5


@dataclass(frozen=True)
class QuarantineEntry:
    """One rejected record: where it was, why, and its original text."""

    line: int
    kind: str
    reason: str
    raw: str
    #: The record's exact bytes, base64, when they are not UTF-8 (``raw`` then has U+FFFD).
    raw_base64: str | None = None


@dataclass(frozen=True)
class ValidationReport:
    """What ``validate_file`` did; ``reasons`` counts quarantined records by ``kind``."""

    source: str
    out_path: str
    quarantine_path: str
    digest_path: str
    kept: int
    quarantined: int
    digest: str
    reasons: dict[str, int] = field(default_factory=dict)
    #: The first few quarantined records as (position, reason), for a quick look.
    examples: list[tuple[int, str]] = field(default_factory=list)
    #: What a position means: "line" (JSONL, 1-based) or "index" (JSON list or hub, 0-based).
    position_word: str = "line"

    @property
    def total(self) -> int:
        return self.kept + self.quarantined

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total}


def quarantine_uri(out: str | os.PathLike[str]) -> str:
    """``clean.jsonl`` -> ``clean.quarantine.jsonl``, in the same folder or S3 prefix."""
    name = resolve_source(out).name
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return sibling_uri(out, stem + QUARANTINE_SUFFIX)


@dataclass
class _CheckedRecords:
    """Rows that passed steps 1-3, with each id's position and original text."""

    rows: list[GuardRow] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)
    raws: dict[str, str] = field(default_factory=dict)
    quarantine: list[QuarantineEntry] = field(default_factory=list)
    position_word: str = "line"


def validate_file(
    in_uri: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    max_chars: int = DEFAULT_MAX_TEXT_CHARS,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    settings: Settings | None = None,
) -> ValidationReport:
    """Validate ``in_uri``, write good rows to ``out_path`` and bad ones to its quarantine file.

    Raises:
        DataError: the input cannot be read at all (missing, unreadable, a JSON list that is
            not valid JSON), an output is the input file, or an output cannot be written.
    """
    out_text = os.fspath(out_path)
    outputs = {"OUT": out_text, "its quarantine file": quarantine_uri(out_text)}
    refuse_overlapping_outputs({"IN": os.fspath(in_uri)}, outputs)
    checked = _check_records(in_uri, max_chars, max_line_bytes, settings)
    kept, duplicates = dedup_rows(checked.rows)
    quarantine = list(checked.quarantine)
    by_id = {row.id: row for row in checked.rows}
    for duplicate in duplicates:
        first = by_id[duplicate.first_id]
        conflict = "" if first.label == duplicate.row.label else ", with a different label"
        where_first = f"{checked.position_word} {checked.positions[duplicate.first_id]}"
        quarantine.append(
            QuarantineEntry(
                line=checked.positions[duplicate.row.id],
                kind="duplicate content",
                reason=f"duplicate content of id '{duplicate.first_id}' ({where_first}){conflict}",
                raw=checked.raws[duplicate.row.id],
            )
        )
    quarantine.sort(key=lambda entry: entry.line)

    write_jsonl(kept, out_text, settings)
    digest = dataset_digest(kept)
    digest_written = write_digest(out_text, digest, settings)
    q_uri = quarantine_uri(out_text)
    write_jsonl([asdict(entry) for entry in quarantine], q_uri, settings)
    return ValidationReport(
        source=os.fspath(in_uri),
        out_path=out_text,
        quarantine_path=q_uri,
        digest_path=str(digest_written),
        kept=len(kept),
        quarantined=len(quarantine),
        digest=digest,
        reasons=dict(Counter(entry.kind for entry in quarantine).most_common()),
        examples=[(entry.line, entry.reason) for entry in quarantine[:_EXAMPLES]],
        position_word=checked.position_word,
    )


def _check_records(
    in_uri: str | os.PathLike[str],
    max_chars: int,
    max_line_bytes: int,
    settings: Settings | None,
) -> _CheckedRecords:
    """Steps 1-3: parse and schema-check every record, and quarantine repeated ids."""
    checked = _CheckedRecords()
    started = time.monotonic()
    records = iter_raw_records(in_uri, settings, max_line_bytes=max_line_bytes)
    for count, record in enumerate(records, start=1):
        checked.position_word = record.where.split()[0]
        outcome = _check_record(record, max_chars, checked)
        if isinstance(outcome, RowProblem):
            original = None
            if record.raw_bytes is not None:
                original = base64.b64encode(record.raw_bytes).decode("ascii")
            checked.quarantine.append(
                QuarantineEntry(
                    record.position, outcome.kind, outcome.reason, record.text, original
                )
            )
        else:
            checked.rows.append(outcome)
            checked.positions[outcome.id] = record.position
            checked.raws[outcome.id] = record.text
        if count % _PROGRESS_EVERY == 0:
            rate = count / max(time.monotonic() - started, 1e-9)
            logger.info("validated %d records (%.0f records/s)", count, rate)
    return checked


def _check_record(
    record: RawRecord, max_chars: int, checked: _CheckedRecords
) -> GuardRow | RowProblem:
    if record.error is not None:
        kind = "invalid JSON"
        if record.error.startswith("invalid UTF-8"):
            kind = "invalid UTF-8"
        elif record.error.startswith(LINE_TOO_LONG):
            kind = "too long"
        return RowProblem(kind, record.error)
    try:
        row = parse_row(record.value, max_chars=max_chars)
    except RowProblem as problem:
        return problem
    if row.id in checked.positions:
        first = f"{checked.position_word} {checked.positions[row.id]}"
        return RowProblem("duplicate id", f"duplicate id '{row.id}' (first seen on {first})")
    return row
