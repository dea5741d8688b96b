"""Atomic, durable writes: a reader sees the old file or folder or the new one, never half.

Every local write that another process may read (metrics, predictions, decisions, model
folders, cache entries) goes through this module, so there is one guarantee everywhere:

- ``write_file_atomic`` writes under a temporary name in the destination folder, fsyncs the
  file, renames it into place (``os.replace`` is atomic on one filesystem) and fsyncs the
  folder, so the rename itself survives a crash;
- ``staged_folder`` + ``publish_folder`` build a folder under a temporary sibling name, fsync
  every file in it, then swap it in. An older folder is moved aside first and deleted only
  after the rename, so a complete folder exists at every moment; with ``keep_existing`` a
  folder already there (another process won the race) is kept instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

Content = bytes | str | Iterable[bytes] | Callable[[BinaryIO], object]

# mkstemp creates files readable by the owner only; written files get the usual permissions
# instead (0o666 less the umask), read once here because reading it means setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_file_atomic(path: str | os.PathLike[str], content: Content) -> Path:
    """Write ``content`` to ``path`` atomically and durably; returns the path.

    ``content`` is bytes, UTF-8 text, an iterable of byte chunks, or a callable that writes to
    the binary stream it is given (``figure.savefig``).

    Raises:
        OSError: the folder cannot be created or written; nothing is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            _write(stream, content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def _write(stream: BinaryIO, content: Content) -> None:
    if isinstance(content, str):
        stream.write(content.encode("utf-8"))
    elif isinstance(content, bytes | bytearray):
        stream.write(content)
    elif callable(content):
        content(stream)
    else:
        for chunk in content:
            stream.write(chunk)


@contextmanager
def staged_folder(target: str | os.PathLike[str], *, keep_existing: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; publish it there when the block ends.

    An exception in the block removes the staging folder and leaves ``target`` untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        publish_folder(staging, target, keep_existing=keep_existing)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish_folder(
    staging: str | os.PathLike[str], target: str | os.PathLike[str], *, keep_existing: bool = False
) -> Path:
    """Move the finished folder ``staging`` to ``target`` (same filesystem), durably.

    Every file under ``staging`` is fsynced first. Without ``keep_existing`` an older
    ``target`` is renamed aside and deleted after the swap; with it, a ``target`` that already
    exists is kept (it was published complete by someone else) and ``staging`` is discarded.
    """
    staging, target = Path(staging), Path(target)
    _fsync_tree(staging)
    if keep_existing and target.exists():
        shutil.rmtree(staging, ignore_errors=True)
        return target
    retired = None
    if target.exists():
        retired = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(retired)
    try:
        staging.rename(target)
    except OSError:
        if retired is not None and not target.exists():
            retired.rename(target)
        raise
    _fsync_folder(target.parent)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    return target


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            file_path = Path(folder) / name
            if file_path.is_symlink():
                continue
            with open(file_path, "rb") as stream:
                os.fsync(stream.fileno())
        _fsync_folder(Path(folder))


def _fsync_folder(folder: Path) -> None:
    """Persist a rename: fsync the folder entry (not supported on every platform)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
