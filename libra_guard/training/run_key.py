"""Training that never mixes runs: every finished stage and every checkpoint carries a key.

The key of a stage is a sha256 over what decides its weights: the stage's settings (method,
LoRA, epochs, learning rate, batch size, length, seed ...), a digest of the rows it trains on
and validates with, and the identity of the model it starts from (for stage 2: stage 1's key;
for a built preset: the key of the base built from the corpus). Rerunning ``train --out X``
with other data or settings therefore no longer skips or resumes the old stage and records
the new digests on it: it stops with a message naming the mismatch, and ``--restart``
discards the old work and starts fresh.

Keys live beside what they describe: ``run_key`` in a finished stage's
``libra_guard_stage.json``, ``libra_guard_run_key.json`` in a built base folder and in the
stage's checkpoint run folder (local or ``s3://``).

Usage::

    key = stage_run_key("stage1", loop_config, source)
    ensure_same_run(recorded_key, key, what="stage1 in runs/x/stage1")
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from libra_guard.errors import ConfigError

if TYPE_CHECKING:
    from libra_guard.training.storage import CheckpointStorage

KEY_FILE = "libra_guard_run_key.json"
#: Loop settings that change how a run is shown or spread over threads, not its weights.
NOT_IN_KEY = frozenset(
    {"rows", "validation", "model_source", "model_cache", "threads", "report_every"}
)
#: Settings added after keys were first recorded: in the key only when not at these values,
#: so runs from before keep their keys (and a native run's checkpoint is never resumed by hf).
KEYED_UNLESS_DEFAULT = {"engine": "native", "sharding": "none"}
#: Files of a finished stage folder that record its key.
STAGE_INFO_FILE = "libra_guard_stage.json"


class RunMismatchError(ConfigError):
    """Earlier work in the output folder was trained from other inputs than this run's."""


def _sha256(value: object) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rows_digest(rows: Iterable[Mapping]) -> str:
    """sha256 of the rows in order (the order decides the batches, so it is part of it)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def source_identity(source: str) -> str:
    """What a starting model is: the key recorded in its folder (a base built here or a
    stage trained here), else its path or hub id, plus for a local folder the names and sizes
    of its files (cheap, and a replaced checkpoint changes them)."""
    folder = Path(source)
    if not folder.is_dir():
        return f"id:{source}"
    recorded = recorded_key(folder)
    if recorded:
        return f"key:{recorded}"
    files = sorted(
        (path.relative_to(folder).as_posix(), path.stat().st_size)
        for path in folder.rglob("*")
        if path.is_file()
    )
    return f"folder:{_sha256([str(folder.resolve()), files])}"


def recorded_key(folder: Path) -> str | None:
    """The key a model folder records (stage info or key file), or ``None``."""
    for name, field in ((STAGE_INFO_FILE, "run_key"), (KEY_FILE, "key")):
        path = Path(folder) / name
        if path.is_file():
            try:
                value = json.loads(path.read_text(encoding="utf-8")).get(field)
            except (OSError, ValueError, AttributeError):
                return None
            if value:
                return str(value)
    return None


def stage_run_key(name: str, loop_config: Mapping, source: str) -> str:
    """The key of one stage from its workers' ``train_loop_config`` and starting model."""
    settings = {
        k: v
        for k, v in loop_config.items()
        if k not in NOT_IN_KEY and not (k in KEYED_UNLESS_DEFAULT and v == KEYED_UNLESS_DEFAULT[k])
    }
    validation_sets = loop_config.get("validation") or {}
    validation = {set_name: rows_digest(rows) for set_name, rows in validation_sets.items()}
    return _sha256(
        {
            "stage": name,
            "settings": settings,
            "rows": rows_digest(loop_config.get("rows") or []),
            "validation": validation,
            "source": source_identity(source),
        }
    )


def base_run_key(base: str, dims: Mapping, rows: Iterable[Mapping]) -> str:
    """The key of a preset base built here: the preset, its dimensions and the corpus."""
    return _sha256({"base": base, "dims": dict(dims), "corpus": rows_digest(rows)})


def write_key_file(folder: Path, key: str) -> None:
    (Path(folder) / KEY_FILE).write_text(json.dumps({"key": key}), encoding="utf-8")


def ensure_same_run(recorded: str | None, key: str, *, what: str) -> None:
    """Refuse to reuse ``what`` unless it was made with ``key``.

    Raises:
        RunMismatchError: it records another key, or none (made before keys existed).
    """
    if recorded == key:
        return
    why = (
        "records no run key (it predates them)"
        if not recorded
        else f"was trained from other data, settings or base model (run key {recorded[:12]}, "
        f"this run {key[:12]})"
    )
    raise RunMismatchError(
        f"{what} {why}; it is not resumed or reused, so that no model mixes two runs. "
        "Use another --out folder, or --restart to discard the earlier work and start fresh"
    )


def discard_outputs(out_dir: Path, names: Iterable[str]) -> list[str]:
    """Remove the named sub-folders of ``out_dir`` (``--restart``); returns those removed."""
    removed = []
    for name in names:
        folder = Path(out_dir) / name
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(name)
    return removed


def checkpoint_key(storage: CheckpointStorage) -> str | None:
    """The key recorded in a stage's checkpoint run folder (local or s3://), or ``None``."""
    import pyarrow.fs

    path = f"{storage.path}/{storage.run_name}/{KEY_FILE}"
    if storage.filesystem.get_file_info(path).type == pyarrow.fs.FileType.NotFound:
        return None
    with storage.filesystem.open_input_stream(path) as stream:
        try:
            return str(json.loads(stream.read().decode("utf-8")).get("key") or "") or None
        except (ValueError, AttributeError):
            return None


def record_checkpoint_key(storage: CheckpointStorage, key: str) -> None:
    """Write ``key`` into the stage's checkpoint run folder before its first checkpoint."""
    folder = f"{storage.path}/{storage.run_name}"
    storage.filesystem.create_dir(folder, recursive=True)
    with storage.filesystem.open_output_stream(f"{folder}/{KEY_FILE}") as stream:
        stream.write(json.dumps({"key": key}).encode("utf-8"))


def discard_checkpoints(storage: CheckpointStorage) -> bool:
    """Delete the stage's checkpoint run folder (``--restart``); ``True`` if there was one."""
    import pyarrow.fs

    folder = f"{storage.path}/{storage.run_name}"
    if storage.filesystem.get_file_info(folder).type == pyarrow.fs.FileType.NotFound:
        return False
    storage.filesystem.delete_dir(folder)
    return True
