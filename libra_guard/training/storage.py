"""Where Ray Train keeps a stage's checkpoints: a local folder or an ``s3://`` bucket (MinIO).

A run is identified by (storage path, run name); running the same stage again with the same
pair makes Ray Train V2 restore its checkpoint manager snapshot and hand the workers the last
checkpoint, which is how a killed ``libra-guard train`` resumes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs

from libra_guard.settings import Settings

#: Written by Ray Train V2 next to the checkpoints after each reported checkpoint.
SNAPSHOT_FILE = "checkpoint_manager_snapshot.json"


@dataclass(frozen=True)
class CheckpointStorage:
    """A Ray Train ``RunConfig``'s storage: path on ``filesystem`` and the run's name."""

    path: str
    filesystem: pyarrow.fs.FileSystem
    run_name: str
    display: str

    def has_snapshot(self) -> bool:
        """Whether an earlier run of this stage left checkpoints to resume from."""
        info = self.filesystem.get_file_info(f"{self.path}/{self.run_name}/{SNAPSHOT_FILE}")
        return info.type != pyarrow.fs.FileType.NotFound

    def latest_step(self) -> int:
        """The training step of the newest checkpoint (0: none, or a snapshot this Ray
        version writes differently). Read from Ray Train V2's checkpoint manager snapshot,
        ``latest_checkpoint_result.metrics``, which holds what the loop reported with it."""
        if not self.has_snapshot():
            return 0
        try:
            path = f"{self.path}/{self.run_name}/{SNAPSHOT_FILE}"
            with self.filesystem.open_input_stream(path) as stream:
                snapshot = json.loads(stream.read().decode("utf-8"))
            return int(snapshot["latest_checkpoint_result"]["metrics"]["step"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0


def checkpoint_storage(
    storage_path: str | None, out_dir: Path, stage: str, settings: Settings
) -> CheckpointStorage:
    """Storage for ``stage``: ``storage_path`` (folder or ``s3://bucket/prefix``) or, unset,
    ``out_dir/checkpoints``. Under a shared storage path the run is named after ``out_dir``
    and a hash of its full path, so that two outputs never share checkpoints, not even two
    folders of the same name (``a/guard`` and ``b/guard``)."""
    if storage_path is None:
        folder = (out_dir / "checkpoints").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return CheckpointStorage(
            str(folder), pyarrow.fs.LocalFileSystem(), stage, f"{folder}/{stage}"
        )
    resolved = out_dir.resolve()
    path_hash = hashlib.sha256(str(resolved).encode("utf-8")).hexdigest()[:10]
    run_name = f"{resolved.name}-{path_hash}-{stage}"
    if storage_path.startswith("s3://"):
        parsed = urlparse(storage_path)
        path = f"{parsed.netloc}{parsed.path}".rstrip("/")
        return CheckpointStorage(
            path, _s3_filesystem(settings), run_name, f"{storage_path.rstrip('/')}/{run_name}"
        )
    folder = Path(storage_path).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return CheckpointStorage(
        str(folder), pyarrow.fs.LocalFileSystem(), run_name, f"{folder}/{run_name}"
    )


def _s3_filesystem(settings: Settings) -> pyarrow.fs.S3FileSystem:
    options: dict = {}
    if settings.s3_access_key:
        options["access_key"] = settings.s3_access_key
    if settings.s3_secret_key:
        options["secret_key"] = settings.s3_secret_key.get_secret_value()
    if settings.s3_endpoint:
        endpoint = urlparse(settings.s3_endpoint)
        options["endpoint_override"] = endpoint.netloc or settings.s3_endpoint
        options["scheme"] = endpoint.scheme or ("https" if settings.s3_secure else "http")
    return pyarrow.fs.S3FileSystem(**options)
