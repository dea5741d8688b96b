"""Where a dataset lives: one URI scheme per storage, resolved in one place.

Every data command takes a URI so that the same pipeline step reads a local file on a laptop
and a MinIO object in the cluster without a code branch:

- ``path/to/file.jsonl`` or ``file:///abs/path/file.jsonl``: the local disk;
- ``s3://bucket/key.jsonl``: MinIO or S3 through fsspec/s3fs, endpoint and keys from
  ``Settings`` (``LIBRA_S3_ENDPOINT``, ``LIBRA_S3_ACCESS_KEY``, ``LIBRA_S3_SECRET_KEY``);
- ``hf://datasets/ORG/NAME[:SPLIT]``: a dataset loaded with ``datasets.load_dataset``
  (read only). Whatever ``load_dataset`` accepts as a path works, a local dataset folder
  included (``hf://datasets//abs/folder:test``).

Writes are atomic: a local file is written under a temporary name and renamed; an S3 object
is uploaded in one request, and S3 makes an object visible only once it is complete.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import unquote, urlparse

from libra_guard.atomic import write_file_atomic
from libra_guard.errors import DataError
from libra_guard.safe_names import dot_segment_problem
from libra_guard.settings import Settings

HUB_PREFIX = "hf://datasets/"
SourceKind = Literal["local", "s3", "hub"]


@dataclass(frozen=True)
class DataSource:
    """A resolved dataset URI.

    ``location`` is a local path (``local``), an ``s3://`` URL (``s3``) or the dataset id or
    folder given to ``datasets.load_dataset`` (``hub``); ``split`` is only used by ``hub``.
    """

    uri: str
    kind: SourceKind
    location: str
    split: str | None = None

    @property
    def name(self) -> str:
        """The last path component, e.g. ``test.json``; used for the digest file's entry."""
        return self.location.rstrip("/").rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        """The lower-cased extension of the file name, e.g. ``.jsonl``; empty when none."""
        name = self.name
        return name[name.rfind(".") :].lower() if "." in name else ""


def resolve_source(uri: str | os.PathLike[str]) -> DataSource:
    """Resolve a path or URI into a ``DataSource``.

    Raises:
        DataError: the URI is empty or uses a scheme no reader supports.
    """
    text = os.fspath(uri)
    if not text.strip():
        raise DataError("empty data URI: give a file path, s3://bucket/key or hf://datasets/ID")
    if text.startswith(HUB_PREFIX):
        return _resolve_hub(text)
    if text.startswith("s3://"):
        if len(text) <= len("s3://") or "/" not in text[len("s3://") :]:
            raise DataError(f"{text}: an S3 URI needs a bucket and a key, s3://bucket/key")
        problem = dot_segment_problem(text[len("s3://") :])
        if problem:
            raise DataError(f"refusing the S3 URI {text}: {problem}")
        return DataSource(uri=text, kind="s3", location=text)
    if text.startswith("file://"):
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise DataError(f"{text}: file:// URIs must name a local path (file:///abs/path)")
        return DataSource(uri=text, kind="local", location=unquote(parsed.path))
    scheme = urlparse(text).scheme
    if "://" in text and scheme:
        raise DataError(
            f"{text}: unsupported scheme '{scheme}://'; use a local path, file://, s3:// "
            "or hf://datasets/"
        )
    return DataSource(uri=text, kind="local", location=text)


def _resolve_hub(text: str) -> DataSource:
    rest = text[len(HUB_PREFIX) :]
    dataset_id, split = rest, None
    head, sep, tail = rest.rpartition(":")
    # A colon followed by no slash is the split ("ORG/NAME:test"); anything else is part of
    # the id or folder.
    if sep and head and tail and "/" not in tail:
        dataset_id, split = head, tail
    if not dataset_id.strip("/"):
        raise DataError(f"{text}: name the dataset, hf://datasets/ORG/NAME[:SPLIT]")
    return DataSource(uri=text, kind="hub", location=dataset_id, split=split)


def storage_options(source: DataSource, settings: Settings | None) -> dict[str, Any]:
    """fsspec options for the source: MinIO endpoint and keys for ``s3``, none otherwise."""
    if source.kind != "s3":
        return {}
    return (settings or Settings()).storage_options()


def _storage_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the storage said no" rather than a bug in our code."""
    errors: tuple[type[BaseException], ...] = (OSError,)
    with contextlib.suppress(ImportError):
        from botocore.exceptions import BotoCoreError, ClientError

        errors = (*errors, BotoCoreError, ClientError)
    return errors


@contextlib.contextmanager
def open_binary(source: DataSource, settings: Settings | None = None) -> Iterator[IO[bytes]]:
    """Open a local file or S3 object for reading bytes.

    Raises:
        DataError: the file is missing or unreadable (permissions, endpoint, credentials),
            or the source is a hub dataset, which has no byte stream.
    """
    if source.kind == "hub":
        raise DataError(f"{source.uri}: a hub dataset is read with load_dataset, not as bytes")
    try:
        if source.kind == "local":
            path = Path(source.location)
            if path.is_dir():
                raise DataError(f"{source.uri} is a folder; give a .jsonl or .json file")
            handle: IO[bytes] = path.open("rb")
        else:
            import fsspec

            handle = fsspec.open(source.location, "rb", **storage_options(source, settings)).open()
    except DataError:
        raise
    except FileNotFoundError as exc:
        raise DataError(f"cannot read {source.uri}: no such file") from exc
    except _storage_errors() as exc:
        raise DataError(f"cannot read {source.uri}: {exc}") from exc
    try:
        yield handle
    finally:
        handle.close()


def write_bytes_atomic(
    target: str | os.PathLike[str], chunks: Iterator[bytes], settings: Settings | None = None
) -> str:
    """Write ``chunks`` to a local path or S3 object so readers never see half a file.

    Returns the written location (a local path as a string, or the ``s3://`` URL).

    Raises:
        DataError: the target is a hub dataset, or the storage refuses the write.
    """
    source = resolve_source(target)
    if source.kind == "hub":
        raise DataError(f"{source.uri}: hub datasets are read only; write to a file or s3://")
    if source.kind == "s3":
        return _write_s3(source, b"".join(chunks), settings)
    return str(_write_local(Path(source.location), chunks))


def _write_local(path: Path, chunks: Iterator[bytes]) -> Path:
    try:
        return write_file_atomic(path, chunks)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc}") from exc


def _write_s3(source: DataSource, data: bytes, settings: Settings | None) -> str:
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(source.location, **storage_options(source, settings))
        fs.pipe_file(path, data)
        fs.invalidate_cache(path)
    except _storage_errors() as exc:
        raise DataError(f"cannot write {source.uri}: {exc}") from exc
    return source.location


def same_location(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Whether two URIs name the same file (local paths compared after resolving)."""
    one, other = resolve_source(first), resolve_source(second)
    if one.kind != other.kind:
        return False
    if one.kind == "local":
        return Path(one.location).resolve() == Path(other.location).resolve()
    return one.location.rstrip("/") == other.location.rstrip("/")


def refuse_overlapping_outputs(inputs: dict[str, str], outputs: dict[str, str]) -> None:
    """Raise ``DataError`` when an output is an input or two outputs are one file.

    Writing OUT over IN would replace the data being read (and lose its bad rows' only
    copy); two outputs in one file would keep only the last one written.
    """
    named = list(outputs.items())
    for out_name, out_uri in named:
        for in_name, in_uri in inputs.items():
            if same_location(out_uri, in_uri):
                raise DataError(
                    f"{out_name} ({out_uri}) is the input file {in_name}; write to another file"
                )
    for index, (first_name, first_uri) in enumerate(named):
        for second_name, second_uri in named[index + 1 :]:
            if same_location(first_uri, second_uri):
                raise DataError(
                    f"{first_name} and {second_name} are the same file ({first_uri}); give "
                    "each its own file"
                )


def sibling_uri(uri: str | os.PathLike[str], new_name: str) -> str:
    """The URI of ``new_name`` in the same folder (or S3 prefix) as ``uri``."""
    text = os.fspath(uri)
    source = resolve_source(text)
    if source.kind == "local":
        return str(Path(source.location).with_name(new_name))
    head = text.rstrip("/").rsplit("/", 1)[0]
    return f"{head}/{new_name}"
