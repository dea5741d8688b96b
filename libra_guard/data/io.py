"""Read and write datasets of Libra-Test rows, from any source ``sources`` resolves.

Two layouts are read, chosen by content (the first non-blank byte), so that an S3 key
without an extension works too: JSON Lines (one object per line, this project's storage
format) and a JSON list (Libra-Test's ``test.json``). Hub datasets come row by row from
``datasets.load_dataset``.

``iter_raw_records`` yields every record before schema checks, with its position and its
original text, so validation can quarantine a broken line verbatim; ``read_rows`` is the strict
reader for code that needs clean rows and stops at the first bad one.

Writers are atomic (see ``sources.write_bytes_atomic``). ``write_jsonl`` writes each row's
canonical serialisation (``digest.canonical_line``), so ``sha256sum`` of the file equals
``dataset_digest`` of its rows.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from libra_guard.data.digest import canonical_line, row_to_dict
from libra_guard.data.row_checks import RowProblem, parse_row
from libra_guard.data.schema import REQUIRED_FIELDS, GuardRow
from libra_guard.data.sources import DataSource, open_binary, resolve_source, write_bytes_atomic
from libra_guard.errors import DataError
from libra_guard.settings import Settings

Layout = Literal["jsonl", "json-list", "hub"]
_BOM = b"\xef\xbb\xbf"
#: Longest JSONL line read, in bytes: two texts at the 8,000-character limit take under 50 kB,
#: so a line this long is not a row; it is skipped unread (quarantined by its length).
DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024
LINE_TOO_LONG = "line too long"
#: How much of an over-long line the quarantine record shows.
_PREVIEW_BYTES = 200
_READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RawRecord:
    """One record as stored, before schema checks.

    ``position`` is the 1-based line number in a JSONL file, or the 0-based index in a JSON
    list or hub dataset. ``text`` is the original line (undecodable bytes replaced by U+FFFD),
    or the item serialised as JSON. ``value`` is the parsed JSON, ``None`` when ``error`` says
    why the record could not be parsed.
    """

    position: int
    layout: Layout
    text: str
    value: Any = None
    error: str | None = None
    #: The exact bytes of a line that is not UTF-8 (``text`` then holds U+FFFD for them).
    raw_bytes: bytes | None = None

    @property
    def where(self) -> str:
        """The position in words: ``line 3`` in a JSONL file, ``index 3`` in a JSON list."""
        return f"line {self.position}" if self.layout == "jsonl" else f"index {self.position}"


def iter_raw_records(
    uri: str | os.PathLike[str],
    settings: Settings | None = None,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[RawRecord]:
    """Yield every record of a dataset with its position and original text.

    Blank lines in a JSONL file hold no record and are skipped. A JSONL line that is not
    UTF-8, not JSON or longer than ``max_line_bytes`` (read past in chunks, never held whole)
    is yielded with ``error`` set, so the caller decides what to do.

    Raises:
        DataError: the source cannot be opened, or a JSON list file as a whole cannot be
            decoded or parsed (there are no lines to blame separately).
    """
    source = resolve_source(uri)
    if source.kind == "hub":
        yield from _iter_hub_records(source)
        return
    with open_binary(source, settings) as opened:
        handle = _line_reader(opened)
        first_line = handle.readline(max_line_bytes + 1)
        if _first_significant_byte(first_line, handle) == b"[":
            # A JSON list is one document: it is parsed whole, whatever its line lengths.
            yield from _iter_json_list(source, first_line + handle.read())
        else:
            yield from _iter_jsonl(first_line, handle, max_line_bytes)


def _line_reader(handle: Any) -> Any:
    """A stream whose ``readline`` takes a size limit (fsspec's S3 files lack one)."""
    if isinstance(handle, io.BufferedReader | io.BytesIO):
        return handle
    return io.BufferedReader(handle, buffer_size=_READ_CHUNK)


def _first_significant_byte(first_line: bytes, handle: Any) -> bytes:
    """The first non-blank byte of the stream, looking past leading blank lines if needed."""
    stripped = first_line.removeprefix(_BOM).strip()
    if stripped:
        return stripped[:1]
    position = handle.tell()
    try:
        while line := handle.readline(_READ_CHUNK):
            if line.strip():
                return line.strip()[:1]
        return b""
    finally:
        handle.seek(position)


def _iter_jsonl(first_line: bytes, handle: Any, max_line_bytes: int) -> Iterator[RawRecord]:
    lines = _bounded_lines(first_line, handle, max_line_bytes)
    for number, (raw, length) in enumerate(lines, start=1):
        if length > max_line_bytes:
            preview = raw[:_PREVIEW_BYTES].decode("utf-8", errors="replace")
            yield RawRecord(
                position=number,
                layout="jsonl",
                text=preview,
                error=f"{LINE_TOO_LONG}: {length} bytes, over the {max_line_bytes}-byte limit "
                "(the line was skipped unread; the record shows its start)",
            )
            continue
        data = raw.rstrip(b"\r\n")
        if number == 1:
            data = data.removeprefix(_BOM)
        if not data.strip():
            continue
        yield _parse_jsonl_line(number, data)


def _bounded_lines(first: bytes, handle: Any, max_line_bytes: int) -> Iterator[tuple[bytes, int]]:
    """(line, its length in bytes without the newline) for every line; a line over
    ``max_line_bytes`` comes back as its first bytes, the rest read past in chunks."""
    line = first
    while line:
        length = len(line)
        ended = line.endswith(b"\n")
        if length > max_line_bytes and not ended:
            while rest := handle.readline(_READ_CHUNK):
                length += len(rest)
                if rest.endswith(b"\n"):
                    ended = True
                    break
        yield line, length - ended
        line = handle.readline(max_line_bytes + 1)


def _parse_jsonl_line(number: int, data: bytes) -> RawRecord:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RawRecord(
            position=number,
            layout="jsonl",
            text=data.decode("utf-8", errors="replace"),
            error=f"invalid UTF-8 at byte {exc.start}",
            raw_bytes=bytes(data),
        )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return RawRecord(
            position=number,
            layout="jsonl",
            text=text,
            error=f"invalid JSON: {exc.msg} at column {exc.colno}",
        )
    return RawRecord(position=number, layout="jsonl", text=text, value=value)


def _iter_json_list(source: DataSource, data: bytes) -> Iterator[RawRecord]:
    try:
        text = data.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{source.uri}: invalid UTF-8 at byte {exc.start}") from exc
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{source.uri}: invalid JSON list: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(items, list):
        raise DataError(f"{source.uri}: expected a JSON list of rows or JSON Lines")
    for index, item in enumerate(items):
        yield RawRecord(position=index, layout="json-list", text=_storable_json(item), value=item)


def _iter_hub_records(source: DataSource) -> Iterator[RawRecord]:
    dataset = load_hub_split(source)
    for index, item in enumerate(dataset):
        # A columnar dataset gives every row every column, null where a row had no such key;
        # drop those nulls so optional and extra fields round-trip, but keep a null in a
        # required field for the schema check to report.
        value = {k: v for k, v in item.items() if v is not None or k in REQUIRED_FIELDS}
        yield RawRecord(
            position=index,
            layout="hub",
            text=_storable_json(value),
            value=value,
        )


def _storable_json(value: Any) -> str:
    """The value as JSON text that can be written as UTF-8: characters as they are, unless a
    lone surrogate forces ``\\u`` escapes (which keep it exactly)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, default=str)
    return text


def load_hub_split(source: DataSource) -> Any:
    """One split of a dataset through ``datasets.load_dataset``.

    Without an explicit split, a dataset with a single split uses it, and one with a
    ``test`` split uses ``test`` (Libra-Test's only split); otherwise the user must choose.

    Raises:
        DataError: the dataset cannot be loaded, or the split is ambiguous or missing.
    """
    import datasets

    try:
        loaded = datasets.load_dataset(source.location)
    except Exception as exc:  # load_dataset raises many unrelated types for "not found"
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise DataError(f"cannot load {source.uri}: {type(exc).__name__}: {exc}{cause}") from exc
    splits = sorted(loaded.keys())
    split = source.split
    if split is None:
        if len(splits) == 1:
            split = splits[0]
        elif "test" in splits:
            split = "test"
        else:
            raise DataError(
                f"{source.uri} has splits {', '.join(splits)}; name one, "
                f"e.g. {source.uri}:{splits[0]}"
            )
    if split not in loaded:
        raise DataError(f"{source.uri}: no split '{split}' (has {', '.join(splits)})")
    return loaded[split]


def read_rows(uri: str | os.PathLike[str], settings: Settings | None = None) -> list[GuardRow]:
    """Read every row of a dataset, strictly.

    Raises:
        DataError: the source cannot be read, or a record is broken; the message names the
            file and the line (JSONL) or index (JSON list, hub) of the first bad record.
    """
    rows: list[GuardRow] = []
    for record in iter_raw_records(uri, settings):
        if record.error is not None:
            raise DataError(f"{uri} {record.where}: {record.error}")
        try:
            rows.append(parse_row(record.value))
        except RowProblem as exc:
            raise DataError(f"{uri} {record.where}: {exc.reason}") from exc
    return rows


def write_jsonl(
    rows: Iterable[GuardRow | Mapping[str, Any]],
    path: str | os.PathLike[str],
    settings: Settings | None = None,
) -> Path | str:
    """Write rows as JSON Lines, atomically; returns the written path (or ``s3://`` URL)."""
    written = write_bytes_atomic(path, (canonical_line(row) for row in rows), settings)
    return _as_path(written)


def write_json_list(
    rows: Iterable[GuardRow | Mapping[str, Any]],
    path: str | os.PathLike[str],
    settings: Settings | None = None,
) -> Path | str:
    """Write rows as one JSON list (Libra-Test's ``test.json`` layout), atomically."""
    items = [row_to_dict(row) for row in rows]
    data = (json.dumps(items, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return _as_path(write_bytes_atomic(path, iter([data]), settings))


def _as_path(written: str) -> Path | str:
    return written if written.startswith("s3://") else Path(written)
