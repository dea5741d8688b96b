"""Weights that are what was registered: a sha256 manifest of every file of a model version.

At registration the model folder is hashed file by file and the manifest is stored as the
version tag ``libra.manifest`` in the registry's database, apart from the artifact store that
holds the files. Every download and every load of a registered version (serving, the gate's
champion re-evaluation, the rollout, ``eval --model models:/...``) goes through
``registry.download_model``, which checks the folder against the manifest before anyone reads
a weight; a changed, missing or extra file refuses the load. A version without a manifest is
refused too (fail closed): re-register it.

Hashing reads every byte once (about 1 GB/s on one core: seconds for the CPU presets, a
minute or so for a 14B model), which is cheap beside loading the same weights.

Usage::

    tags[MANIFEST_TAG] = build_manifest(model_dir).to_tag()       # at registration
    verify_folder(folder, Manifest.from_tags(version.tags, where=...))   # at every load
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from libra_guard.errors import ModelError

MANIFEST_TAG = "libra.manifest"
#: Read size while hashing: large enough to keep the disk busy, small enough for memory.
CHUNK_BYTES = 4 * 1024 * 1024


class WeightsMismatchError(ModelError):
    """A model folder's files differ from the sha256 manifest recorded at registration."""


@dataclass(frozen=True)
class Manifest:
    """sha256 (hex) of every file of a model folder, by its POSIX path inside the folder."""

    files: dict[str, str]

    def to_tag(self) -> str:
        """Compact, key-sorted JSON: the same folder always gives the same text."""
        return json.dumps(self.files, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], *, where: str) -> Manifest:
        """The manifest recorded on a model version.

        Raises:
            WeightsMismatchError: the version has no manifest, or it is unreadable.
        """
        text = tags.get(MANIFEST_TAG)
        if not text:
            raise WeightsMismatchError(
                f"{where} has no sha256 manifest ({MANIFEST_TAG} tag), so its weights cannot "
                "be verified and it is not loaded; register the model again"
            )
        try:
            files = json.loads(text)
        except ValueError as exc:
            raise WeightsMismatchError(f"{where}: the {MANIFEST_TAG} tag is not JSON") from exc
        if not isinstance(files, dict) or not files:
            raise WeightsMismatchError(f"{where}: the {MANIFEST_TAG} tag lists no files")
        return cls({str(name): str(digest) for name, digest in files.items()})


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(folder: Path) -> Manifest:
    """Hash every regular file under ``folder`` (links are refused: what they point at could
    change after registration).

    Raises:
        ModelError: the folder holds no file or a symbolic link.
    """
    folder = Path(folder)
    files: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            raise ModelError(f"{path} is a symbolic link; copy the file into the model folder")
        if path.is_file():
            files[path.relative_to(folder).as_posix()] = file_sha256(path)
    if not files:
        raise ModelError(f"{folder} holds no file to register")
    return Manifest(files)


def verify_folder(folder: Path, expected: Manifest, *, where: str) -> None:
    """Check ``folder`` holds exactly the manifest's files with the manifest's digests.

    Raises:
        WeightsMismatchError: a file differs, is missing or was added; the message names them.
    """
    found = build_manifest(folder).files if Path(folder).is_dir() else {}
    changed = sorted(
        name for name in expected.files if name in found and found[name] != expected.files[name]
    )
    missing = sorted(set(expected.files) - set(found))
    added = sorted(set(found) - set(expected.files))
    if not (changed or missing or added):
        return
    problems = [
        f"{label}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"
        for label, names in (("changed", changed), ("missing", missing), ("unexpected", added))
        if names
    ]
    raise WeightsMismatchError(
        f"{where} in {folder} does not match the sha256 manifest recorded at registration "
        f"({'; '.join(problems)}); refusing to load it. Delete the local copy to download it "
        "again; if the stored artifact itself changed, register the model again"
    )
