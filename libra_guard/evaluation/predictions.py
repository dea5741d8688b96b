"""Raw model outputs in the paper's file shape, read and matched to the data rows by id.

The paper's inference script writes JSONL rows holding the data row plus ``critic``, the
generated text, into a folder of ``{rank}-of-{n}.jsonl`` shards. Only ``id`` and ``critic`` are
read here; a path may name one JSONL file or a folder of ``*.jsonl`` shards, local, ``file://``
or ``s3://`` (MinIO, through the settings' storage options).

The paper's script silently skips predictions whose id is not in the data and silently leaves
out data rows without a prediction, which changes the figures without a word. Here both are
errors by default, naming how many and the first few ids:

- ``allow_missing=True`` scores data rows without a prediction as unscorable, so WRONG (as
  the paper treats an unparseable answer); their count is reported as ``missing``;
- ``allow_unknown=True`` ignores predictions whose id is not in the data (useful when
  evaluating a ``--limit``-ed slice of the data against a full predictions file).

A ``critic`` of ``null`` is an answer that cannot be scored (wrong, as in the paper); a row
without the ``critic`` key is an error, since it usually means the wrong field name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import fsspec

from libra_guard.data.schema import GuardRow
from libra_guard.errors import DataError
from libra_guard.settings import Settings

CRITIC_FIELD = "critic"
#: How many offending ids an error message lists.
SHOWN_IDS = 5


@dataclass(frozen=True)
class MatchedPredictions:
    """One raw answer per data row (``None`` where the row had no prediction)."""

    critics: list[str | None]
    missing: int
    unknown: int


def read_predictions(uri: str, settings: Settings | None = None) -> dict[str, str | None]:
    """Generated text per id from a JSONL file or a folder of JSONL shards.

    Raises:
        DataError: unreadable location, no JSONL file in a folder, a line that is not a JSON
            object, a row without ``id`` or ``critic``, or an id seen twice.
    """
    files = _prediction_files(uri, settings)
    critics: dict[str, str | None] = {}
    seen_at: dict[str, str] = {}
    for fs, path in files:
        try:
            with fs.open(path, "rt", encoding="utf-8") as stream:
                for line_number, line in enumerate(stream, start=1):
                    if not line.strip():
                        continue
                    where = f"{path}:{line_number}"
                    identifier, critic = _parse_line(line, where)
                    if identifier in seen_at:
                        raise DataError(
                            f"{where}: duplicate prediction id {identifier!r} "
                            f"(first at {seen_at[identifier]}); keep one answer per row"
                        )
                    seen_at[identifier] = where
                    critics[identifier] = critic
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read predictions file {path}: {exc}") from exc
    return critics


def match_predictions(
    rows: Sequence[GuardRow],
    critics: dict[str, str | None],
    *,
    source: str,
    allow_missing: bool = False,
    allow_unknown: bool = False,
) -> MatchedPredictions:
    """Line the raw answers up with the data rows; see the module docstring for the policy."""
    row_ids = {row.id for row in rows}
    if len(row_ids) != len(rows):
        raise DataError(
            f"the data has {len(rows) - len(row_ids)} repeated row id(s), so predictions "
            "cannot be matched by id; deduplicate the data first"
        )
    unknown = [identifier for identifier in critics if identifier not in row_ids]
    if unknown and not allow_unknown:
        raise DataError(
            f"{source}: {len(unknown)} prediction id(s) are not in the data, e.g. "
            f"{_sample(unknown)}; check that the predictions belong to this data file"
        )
    missing = [row.id for row in rows if row.id not in critics]
    if missing and not allow_missing:
        raise DataError(
            f"{source}: {len(missing)} of {len(rows)} data row(s) have no prediction, e.g. "
            f"{_sample(missing)}; finish the predictions, or pass --allow-missing to count "
            "them as wrong"
        )
    return MatchedPredictions(
        critics=[critics.get(row.id) for row in rows],
        missing=len(missing),
        unknown=len(unknown),
    )


def _prediction_files(uri: str, settings: Settings | None) -> list[tuple]:
    options = (settings or Settings()).storage_options() if uri.startswith("s3://") else {}
    try:
        fs, path = fsspec.core.url_to_fs(uri, **options)
        if not fs.exists(path):
            raise DataError(f"predictions not found: {uri}")
        if not fs.isdir(path):
            return [(fs, path)]
        shards = sorted(fs.glob(f"{path.rstrip('/')}/*.jsonl"))
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"cannot open predictions {uri}: {exc}") from exc
    if not shards:
        raise DataError(f"no *.jsonl prediction files in folder {uri}")
    return [(fs, shard) for shard in shards]


def _parse_line(line: str, where: str) -> tuple[str, str | None]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
    identifier = record.get("id")
    if isinstance(identifier, bool) or not isinstance(identifier, str | int):
        raise DataError(f"{where}: missing or invalid 'id' (a string or integer is required)")
    if CRITIC_FIELD not in record:
        raise DataError(
            f"{where}: no {CRITIC_FIELD!r} field (the generated text); found keys "
            f"{sorted(record)[:8]}"
        )
    critic = record[CRITIC_FIELD]
    if critic is not None and not isinstance(critic, str):
        raise DataError(f"{where}: {CRITIC_FIELD!r} must be a string or null")
    return str(identifier), critic


def _sample(identifiers: Sequence[str]) -> str:
    shown = ", ".join(repr(identifier) for identifier in identifiers[:SHOWN_IDS])
    return shown + (", ..." if len(identifiers) > SHOWN_IDS else "")
