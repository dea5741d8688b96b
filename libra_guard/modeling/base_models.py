"""Base models from where clusters keep them: a hub id, a local folder, or an ``s3://`` prefix.

Clusters without internet keep their bases in MinIO. ``import_model`` mirrors a hub model or a
local folder to an ``s3://`` prefix with a sha256 manifest (``libra_manifest.json``, a JSON
object ``{relative_path: sha256}``, written last so a half-finished upload has none and is
refused). ``materialize_base`` turns a base into something ``from_pretrained`` loads: hub ids
and folders pass through; an ``s3://`` prefix is downloaded once per node into a cache folder,
every file checked against the manifest before the folder is renamed into place, under a file
lock so the workers of one node download it once between them. A cached copy is reused while
the prefix's manifest is unchanged.

Fails closed: a prefix without a manifest, a file whose digest differs, a file the manifest
does not list or a path leaving the folder (``..``) refuses the base with ``ModelError``.

Usage::

    libra-guard models import Qwen/Qwen2.5-7B-Instruct s3://models/qwen2.5-7b-instruct
    libra-guard train --preset s3://models/qwen2.5-7b-instruct ...
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from libra_guard.errors import ModelError
from libra_guard.settings import Settings

MANIFEST_FILE = "libra_manifest.json"
#: Written into a cached copy once verified: the digest of the manifest it was checked against.
VERIFIED_MARKER = ".libra_verified"
CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ImportOutcome:
    """What ``import_model`` uploaded."""

    destination: str
    files: int
    bytes: int


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def folder_manifest(folder: Path) -> dict[str, str]:
    """``{relative POSIX path: sha256}`` of every regular file under ``folder`` (the manifest
    file itself and dot-files excluded).

    Raises:
        ModelError: a symbolic link (what it points at could change behind the digest).
    """
    manifest: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            raise ModelError(f"{path}: symbolic links are not allowed in a model folder")
        if path.is_dir() or relative == MANIFEST_FILE or path.name.startswith("."):
            continue
        manifest[relative] = file_sha256(path)
    return manifest


def is_s3(base: str) -> bool:
    return base.startswith("s3://")


def materialize_base(base: str, cache_root: Path, settings: Settings | None = None) -> str:
    """A source ``from_pretrained`` loads: ``base`` itself, or for an ``s3://`` prefix the
    verified local copy under ``cache_root`` (downloaded if absent or stale).

    Raises:
        ModelError: the prefix has no manifest, cannot be read, or a file fails its check.
    """
    if not is_s3(base):
        return base
    settings = settings or Settings()
    from filelock import FileLock

    fs = _s3(settings)
    prefix = base.rstrip("/")
    manifest_text = _read_manifest_text(fs, prefix)
    manifest = _parse_manifest(manifest_text, prefix)
    manifest_digest = hashlib.sha256(manifest_text.encode()).hexdigest()
    target = Path(cache_root) / _cache_name(prefix)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if _verified_copy(target) == manifest_digest:
            return str(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            _download(fs, prefix, manifest, staging)
            (staging / VERIFIED_MARKER).write_text(manifest_digest, encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def import_model(source: str, destination: str, settings: Settings | None = None, log=print):
    """Mirror a hub model or local folder to the ``s3://`` prefix ``destination``, with its
    manifest uploaded last. Returns an ``ImportOutcome``.

    Raises:
        ModelError: the destination is not ``s3://``, or the source cannot be found.
    """
    if not is_s3(destination):
        raise ModelError(f"{destination}: the destination must be an s3:// prefix")
    settings = settings or Settings()
    folder = _local_folder(source, log)
    manifest = folder_manifest(folder)
    if "config.json" not in manifest:
        raise ModelError(f"{source}: no config.json, so it is not a model folder")
    fs = _s3(settings)
    prefix = destination.rstrip("/")
    total = 0
    for index, relative in enumerate(manifest, start=1):
        size = (folder / relative).stat().st_size
        fs.put_file(str(folder / relative), f"{prefix}/{relative}")
        total += size
        log(f"uploaded {index}/{len(manifest)} {relative} ({size / 1e6:.1f} MB)")
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    fs.pipe_file(f"{prefix}/{MANIFEST_FILE}", text.encode())
    return ImportOutcome(destination=prefix, files=len(manifest), bytes=total)


def _local_folder(source: str, log) -> Path:
    """A local folder as is; else a hub id, fetched with ``huggingface_hub`` (its cache)."""
    path = Path(source)
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        log(f"downloading {source} from the hub")
        return Path(snapshot_download(source))
    except Exception as exc:  # the hub raises many types (offline, not found, gated)
        raise ModelError(f"{source}: not a local folder and not a reachable hub id: {exc}") from exc


def _s3(settings: Settings):
    import fsspec

    return fsspec.filesystem("s3", **settings.storage_options())


def _read_manifest_text(fs, prefix: str) -> str:
    try:
        return fs.cat_file(f"{prefix}/{MANIFEST_FILE}").decode("utf-8")
    except FileNotFoundError as exc:
        raise ModelError(
            f"{prefix} has no {MANIFEST_FILE}, so its files cannot be verified; import it with "
            "'libra-guard models import SRC s3://...'"
        ) from exc
    except OSError as exc:
        raise ModelError(f"cannot read {prefix}/{MANIFEST_FILE}: {exc}") from exc


def _parse_manifest(text: str, prefix: str) -> dict[str, str]:
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"{prefix}/{MANIFEST_FILE} is not JSON") from exc
    if not isinstance(manifest, dict) or not manifest:
        raise ModelError(f"{prefix}/{MANIFEST_FILE} lists no files")
    for relative in manifest:
        parts = PurePosixPath(relative).parts
        if PurePosixPath(relative).is_absolute() or ".." in parts or not parts:
            raise ModelError(f"{prefix}/{MANIFEST_FILE}: {relative!r} leaves the model folder")
    return {str(name): str(digest) for name, digest in manifest.items()}


def _download(fs, prefix: str, manifest: dict[str, str], staging: Path) -> None:
    """Fetch every file of ``prefix`` into ``staging``; each must be listed and match."""
    listed = {
        PurePosixPath(key).relative_to(PurePosixPath(prefix.removeprefix("s3://"))).as_posix()
        for key in fs.find(prefix)
    }
    extra = sorted(listed - set(manifest) - {MANIFEST_FILE})
    if extra:
        raise ModelError(f"{prefix}: files not in its manifest: {', '.join(extra[:5])}")
    for relative, expected in manifest.items():
        local = staging / relative
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            fs.get_file(f"{prefix}/{relative}", str(local))
        except FileNotFoundError as exc:
            raise ModelError(f"{prefix}/{relative} is in the manifest but missing") from exc
        if file_sha256(local) != expected:
            raise ModelError(f"{prefix}/{relative} does not match its sha256 in the manifest")


def _verified_copy(target: Path) -> str | None:
    marker = target / VERIFIED_MARKER
    return marker.read_text(encoding="utf-8") if marker.is_file() else None


def _cache_name(prefix: str) -> str:
    """A folder name per prefix: readable tail plus a short digest of the whole URI."""
    tail = prefix.rsplit("/", 1)[-1] or "model"
    return f"{tail}-{hashlib.sha256(prefix.encode()).hexdigest()[:12]}"


def s3_worker_env(settings: Settings) -> dict[str, str]:
    """The ``LIBRA_S3_*`` variables of ``settings`` for Ray Train workers that fetch an
    ``s3://`` base: workers of a Ray head started before these were set (a shared local head)
    do not inherit them. They travel in the run's runtime environment, which Ray keeps in its
    control store; cluster workers normally read them from a Kubernetes Secret instead."""
    values = {
        "LIBRA_S3_ENDPOINT": settings.s3_endpoint,
        "LIBRA_S3_ACCESS_KEY": settings.s3_access_key,
        "LIBRA_S3_SECRET_KEY": settings.s3_secret_key,
        "LIBRA_S3_SECURE": "true" if settings.s3_secure else None,
    }
    return {name: value for name, value in values.items() if value}
