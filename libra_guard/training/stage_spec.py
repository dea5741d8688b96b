"""What a training stage run as a RayJob reads and writes, and where, under one S3 prefix.

The pipeline step (``cluster_stage``) and the job (``stage_job``) share nothing but object
storage, so both sides use this layout of ``{artifact_root}/stage-work/{key}/``::

    spec.json      StageSpec: stage, TrainConfig, where everything else is
    rows.jsonl     the stage's training rows
    validation-NAME.jsonl   validation sets, if any (runner.validation_holdout)
    source/        the starting model (tiny base or stage-1 model), when it is a folder
    checkpoints/   Ray Train's checkpoints: a retried stage resumes from them
    output/        the finished model folder; complete once STAGE_INFO is in it

The key is the stage's cache key (a hash of its inputs), so a retried step finds the same
prefix. Folders are copied file by file; the model's ``STAGE_INFO`` is written last, so a
reader that sees it sees a whole model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from libra_guard.atomic import staged_folder
from libra_guard.errors import DataError
from libra_guard.settings import Settings
from libra_guard.training.config import StageName, TrainConfig


class StageSpec(BaseModel):
    """Everything the RayJob's entrypoint needs to train one stage."""

    model_config = ConfigDict(extra="forbid")

    stage: StageName
    key: str
    config: TrainConfig
    rows_uri: str
    validation_uris: dict[str, str] = {}
    source: str
    source_is_folder: bool
    output_uri: str


@dataclass(frozen=True)
class StageWork:
    """The S3 prefix of one stage's work."""

    prefix: str

    @classmethod
    def under(cls, artifact_root: str, key: str) -> StageWork:
        return cls(f"{artifact_root.rstrip('/')}/stage-work/{key}")

    @property
    def spec_uri(self) -> str:
        return f"{self.prefix}/spec.json"

    @property
    def rows_uri(self) -> str:
        return f"{self.prefix}/rows.jsonl"

    def validation_uri(self, name: str) -> str:
        return f"{self.prefix}/validation-{name}.jsonl"

    @property
    def source_uri(self) -> str:
        return f"{self.prefix}/source"

    @property
    def checkpoints_uri(self) -> str:
        return f"{self.prefix}/checkpoints"

    @property
    def output_uri(self) -> str:
        return f"{self.prefix}/output"


def write_spec(spec: StageSpec, uri: str, settings: Settings) -> None:
    data = json.dumps(spec.model_dump(mode="json"), ensure_ascii=False, indent=2)
    fs, path = _fs(uri, settings)
    _guarded(f"write {uri}", lambda: fs.pipe_file(path, data.encode("utf-8")))


def read_spec(uri: str, settings: Settings) -> StageSpec:
    """Raises: DataError: the spec is missing or not a valid ``StageSpec``."""
    fs, path = _fs(uri, settings)
    raw = _guarded(f"read {uri}", lambda: fs.cat_file(path))
    try:
        return StageSpec.model_validate_json(raw)
    except ValueError as exc:
        raise DataError(f"{uri} is not a valid stage spec: {exc}") from exc


def upload_folder(folder: Path, uri: str, settings: Settings, *, last: str | None = None) -> int:
    """Copy every file under ``folder`` to ``uri/``, the file named ``last`` (top level) at the
    end; returns the number of files.

    Raises:
        DataError: the folder is missing or the storage refuses a write.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"cannot upload {folder}: not a folder")
    fs, root = _fs(uri, settings)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.relative_to(folder).as_posix() == last)
    for file in files:
        target = f"{root}/{file.relative_to(folder).as_posix()}"
        _guarded(f"upload {file} to {uri}", lambda f=file, t=target: fs.put_file(str(f), t))
    return len(files)


def download_folder(uri: str, folder: Path, settings: Settings) -> Path:
    """Copy everything under ``uri/`` into ``folder``, which appears only complete.

    Raises:
        DataError: nothing is stored under ``uri`` or the storage refuses a read.
    """
    fs, root = _fs(uri, settings)
    keys = _guarded(f"list {uri}", lambda: fs.find(root))
    if not keys:
        raise DataError(f"nothing is stored under {uri}")
    folder = Path(folder)
    with staged_folder(folder) as staging:
        for key in keys:
            relative = key[len(root) :].lstrip("/")
            local = staging / relative
            local.parent.mkdir(parents=True, exist_ok=True)
            _guarded(f"download {uri}", lambda k=key, p=local: fs.get_file(k, str(p)))
    return folder


def exists(uri: str, settings: Settings) -> bool:
    fs, path = _fs(uri, settings)
    return bool(_guarded(f"look up {uri}", lambda: fs.exists(path)))


def remove_prefix(uri: str, settings: Settings) -> None:
    """Delete everything under ``uri``; missing is fine."""
    fs, path = _fs(uri, settings)
    if _guarded(f"look up {uri}", lambda: fs.exists(path)):
        _guarded(f"delete {uri}", lambda: fs.rm(path, recursive=True))


def _fs(uri: str, settings: Settings):
    from fsspec.core import url_to_fs

    if not uri.startswith("s3://"):
        raise DataError(f"{uri}: stage work lives in object storage; give an s3:// URI")
    fs, path = url_to_fs(uri, **settings.storage_options())
    fs.invalidate_cache()
    return fs, path.rstrip("/")


def _guarded(action: str, call):
    """``call()`` with storage failures (missing object, refused request, no endpoint) as
    ``DataError``; botocore's errors are what s3fs lets through besides ``OSError``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except FileNotFoundError as exc:
        raise DataError(f"cannot {action}: not found") from exc
    except (OSError, BotoCoreError, ClientError) as exc:
        raise DataError(f"cannot {action}: {exc}") from exc
