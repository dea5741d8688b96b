"""Content digests: one sha256 that names a dataset's exact rows.

The digest travels as a tag through every later artifact (training run, checkpoint, model
version, deployment), so it must depend on the rows and nothing else: each row is serialised
canonically (sorted keys, compact separators, UTF-8, no ASCII escaping), one row per line in
stored order. ``write_jsonl`` writes exactly these lines, so the digest of a JSONL file this
project wrote equals ``sha256sum`` of the file, and the ``.sha256`` file beside it is in
``sha256sum`` format: ``sha256sum -c clean.jsonl.sha256`` checks it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from libra_guard.data.schema import GuardRow
from libra_guard.data.sources import open_binary, resolve_source, write_bytes_atomic
from libra_guard.errors import DataError
from libra_guard.settings import Settings

DIGEST_SUFFIX = ".sha256"
_DIGEST_LINE = re.compile(r"^([0-9a-f]{64})(?:\s+\*?(.*))?$")


def row_to_dict(row: GuardRow | Mapping[str, Any]) -> dict[str, Any]:
    """The row as a plain dict: ``GuardRow.to_json_dict()`` or a copy of the mapping."""
    if isinstance(row, GuardRow):
        return row.to_json_dict()
    return dict(row)


def canonical_line(row: GuardRow | Mapping[str, Any]) -> bytes:
    """One row as canonical JSON plus a newline, UTF-8 encoded."""
    text = json_dumps_canonical(row_to_dict(row))
    return (text + "\n").encode("utf-8")


def json_dumps_canonical(value: Any) -> str:
    """Sorted keys, compact separators, characters kept as they are (no ``\\u`` escapes);
    NaN and Infinity raise ``ValueError`` rather than being written as invalid JSON."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )


def dataset_digest(rows: Iterable[GuardRow | Mapping[str, Any]]) -> str:
    """sha256 hex of the rows' canonical serialisation, in the order given."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(canonical_line(row))
    return digest.hexdigest()


def digest_path(path: str | os.PathLike[str]) -> str:
    """Where the digest of ``path`` lives: ``<path>.sha256``."""
    return os.fspath(path) + DIGEST_SUFFIX


def write_digest(
    path: str | os.PathLike[str], digest: str, settings: Settings | None = None
) -> Path | str:
    """Write ``<path>.sha256`` as ``<hex>  <filename>\\n`` (``sha256sum`` style).

    Returns the digest file's path (a ``Path`` locally, the URL for ``s3://``).

    Raises:
        DataError: ``digest`` is not a sha256 hex string, or the file cannot be written.
    """
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise DataError(f"not a sha256 hex digest: {digest!r}")
    name = resolve_source(path).name
    target = digest_path(path)
    written = write_bytes_atomic(target, iter([f"{digest}  {name}\n".encode()]), settings)
    return Path(written) if resolve_source(target).kind == "local" else written


def read_digest(path: str | os.PathLike[str], settings: Settings | None = None) -> str:
    """The hex digest recorded for ``path`` (the data file or its ``.sha256`` file).

    Raises:
        DataError: the digest file is missing or not in ``sha256sum`` format.
    """
    text = os.fspath(path)
    target = text if text.endswith(DIGEST_SUFFIX) else digest_path(text)
    with open_binary(resolve_source(target), settings) as handle:
        content = handle.read().decode("utf-8", errors="replace").strip()
    match = _DIGEST_LINE.match(content.splitlines()[0] if content else "")
    if match is None:
        raise DataError(f"{target}: expected '<sha256 hex>  <file name>', got {content[:80]!r}")
    return match.group(1)
