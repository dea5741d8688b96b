"""A stage's training data: the rows, and the digests that tie the model to them.

Two digests per input: ``file_sha256`` of the bytes as stored (what ``sha256sum`` prints, so
anyone can check the file they hold) and ``dataset_sha256`` of the rows' canonical form (the
digest that travels through the pipeline). Hub datasets have no file, only the latter.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from libra_guard.data.digest import dataset_digest
from libra_guard.data.io import read_rows
from libra_guard.data.schema import GuardRow
from libra_guard.data.sources import open_binary, resolve_source
from libra_guard.errors import DataError
from libra_guard.settings import Settings


@dataclass(frozen=True)
class StageData:
    """Rows of one stage and where they came from."""

    uri: str
    rows: list[GuardRow]
    file_sha256: str | None
    dataset_sha256: str

    def provenance(self) -> dict:
        return {
            "uri": self.uri,
            "rows": len(self.rows),
            "file_sha256": self.file_sha256,
            "dataset_sha256": self.dataset_sha256,
        }


def load_stage_data(uri: str | os.PathLike[str], settings: Settings | None = None) -> StageData:
    """Read and digest one stage's data file.

    Raises:
        DataError: the file cannot be read, has a bad row, or holds no rows.
    """
    text = os.fspath(uri)
    rows = read_rows(text, settings)
    if not rows:
        raise DataError(f"{text} holds no rows; a training stage needs data")
    source = resolve_source(text)
    file_sha256 = None
    if source.kind != "hub":
        digest = hashlib.sha256()
        with open_binary(source, settings) as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        file_sha256 = digest.hexdigest()
    return StageData(text, rows, file_sha256, dataset_digest(rows))
