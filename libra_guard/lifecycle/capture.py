"""Opt-in capture of served decisions: sampled, JSONL partitioned by day, size-capped.

Layout under the capture URI (``s3://bucket/prefix`` on MinIO, or a local folder)::

    day=2026-11-30/part-093015-1a2b3c4d-000001.jsonl

One record per captured item: ``captured_at`` (UTC, ISO 8601), ``question``, ``response``
(``null`` for prompt moderation), ``task``, ``score`` (P(不安全)), ``label``, ``verdict``,
``level`` (the API's: safe, controversial or unsafe), ``near_threshold`` (true or false),
``threshold`` and ``model`` (name, version). Nothing else of the request is seen here: headers,
and so the API key, never reach a record.

Sampling: every item is kept with probability ``rate``; items near the threshold (the cases
worth a reviewer's time, see ``near_threshold``) with ``near_threshold_rate`` (or ``rate``, if
higher).
Records are buffered and written as one new object per flush (S3 has no append): when
``flush_items`` are buffered, when the oldest is ``flush_s`` old, and when the API shuts down;
a crash loses at most one buffer of samples, never a written part. Each day's partition stops
growing at ``max_partition_bytes``: the writer counts what the partition already holds when it
first writes to a day (a restarted replica keeps to the cap) and drops samples past it,
counting them in ``dropped_over_cap``. Replicas do not share a count: each starts from the size
it first saw, so with N replicas a day can reach N times the cap at worst.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from libra_guard.data.sources import resolve_source, storage_options, write_bytes_atomic
from libra_guard.errors import DataError
from libra_guard.lifecycle.near_threshold import DEFAULT_MARGIN, is_near_threshold
from libra_guard.settings import Settings

PARTITION_PREFIX = "day="


class CaptureConfig(BaseModel):
    """Where captured decisions go and how many; absent from ``ServingConfig`` means off."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(min_length=1, description="s3://bucket/prefix or a local folder.")
    rate: float = Field(default=0.01, ge=0, le=1, description="Share of all items kept.")
    near_threshold_rate: float = Field(
        default=0.5, ge=0, le=1, description="Share kept of items near the threshold."
    )
    near_threshold_margin: float = Field(
        default=DEFAULT_MARGIN, ge=0, lt=1, description="|score - threshold| counted as near."
    )
    max_partition_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Size cap of one day's partition."
    )
    flush_items: int = Field(default=64, ge=1, description="Records buffered per written part.")
    flush_s: float = Field(
        default=60.0, gt=0, description="Oldest buffered record's age that forces a write."
    )
    seed: int | None = Field(default=None, description="Sampling seed; unset: random.")


@dataclass(frozen=True)
class Decision:
    """One served verdict, as the ingress saw it."""

    question: str
    response: str | None
    task: str
    score: float
    label: str
    verdict: str
    model: Mapping[str, str]
    #: The API's level of the decision: safe, controversial or unsafe.
    level: str


@dataclass
class CaptureStats:
    seen: int = 0
    sampled: int = 0
    written: int = 0
    dropped_over_cap: int = 0


@dataclass
class _Partition:
    size: int
    parts: int = 0


@dataclass
class CaptureSink:
    """Samples decisions and writes them as day partitions; safe to call from threads."""

    config: CaptureConfig
    threshold: float
    settings: Settings | None = None
    stats: CaptureStats = field(default_factory=CaptureStats)

    def __post_init__(self) -> None:
        self._random = random.Random(self.config.seed)
        self._writer_id = uuid.uuid4().hex[:8]
        self._lock = threading.Lock()
        self._buffer: list[dict[str, Any]] = []
        self._buffered_since: float | None = None
        self._partitions: dict[str, _Partition] = {}

    def offer(self, decisions: Sequence[Decision], now: datetime | None = None) -> bool:
        """Sample ``decisions`` into the buffer; True when a flush is due."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        with self._lock:
            for decision in decisions:
                self.stats.seen += 1
                near = is_near_threshold(
                    decision.score,
                    self.threshold,
                    decision.level,
                    self.config.near_threshold_margin,
                )
                # Near the threshold never samples less than elsewhere.
                rate = max(self.config.rate, self.config.near_threshold_rate * near)
                if self._random.random() >= rate:
                    continue
                self.stats.sampled += 1
                self._buffer.append(_record(decision, near, self.threshold, moment))
                if self._buffered_since is None:
                    self._buffered_since = time.monotonic()
            if not self._buffer:
                return False
            age = time.monotonic() - (self._buffered_since or time.monotonic())
            return len(self._buffer) >= self.config.flush_items or age >= self.config.flush_s

    def flush(self) -> None:
        """Write the buffered records, one part per day present in the buffer.

        Raises:
            DataError: the store refused the write (the records are kept for the next flush).
        """
        with self._lock:
            records, self._buffer = self._buffer, []
            self._buffered_since = None
        by_day: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_day.setdefault(record["captured_at"][:10], []).append(record)
        for day, day_records in by_day.items():
            try:
                self._write_day(day, day_records)
            except DataError:
                with self._lock:
                    self._buffer[:0] = day_records
                    self._buffered_since = self._buffered_since or time.monotonic()
                raise

    def _write_day(self, day: str, records: list[dict[str, Any]]) -> None:
        partition = self._partitions.get(day)
        if partition is None:
            partition = _Partition(size=partition_size(self.config.uri, day, self.settings))
            self._partitions[day] = partition
        room = self.config.max_partition_bytes - partition.size
        lines: list[bytes] = []
        for record in records:
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
            if len(line) > room:
                self.stats.dropped_over_cap += 1
                continue
            lines.append(line)
            room -= len(line)
        if not lines:
            return
        partition.parts += 1
        stamp = records[0]["captured_at"][11:19].replace(":", "")
        name = f"part-{stamp}-{self._writer_id}-{partition.parts:06d}.jsonl"
        target = _join(self.config.uri, partition_name(day), name)
        write_bytes_atomic(target, iter(lines), self.settings)
        partition.size += sum(len(line) for line in lines)
        self.stats.written += len(lines)


def _record(decision: Decision, near: bool, threshold: float, moment: datetime) -> dict[str, Any]:
    return {
        "captured_at": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "question": decision.question,
        "response": decision.response,
        "task": decision.task,
        "score": round(float(decision.score), 6),
        "label": decision.label,
        "verdict": decision.verdict,
        "level": decision.level,
        "near_threshold": near,
        "threshold": threshold,
        "model": {"name": decision.model["name"], "version": decision.model["version"]},
    }


def partition_name(day: str) -> str:
    return f"{PARTITION_PREFIX}{day}"


def _join(uri: str, *names: str) -> str:
    return "/".join([uri.rstrip("/"), *names])


def _filesystem(uri: str, settings: Settings | None):
    from fsspec.core import url_to_fs

    source = resolve_source(uri)
    if source.kind == "hub":
        raise DataError(f"{uri}: capture goes to s3:// or a local folder, not a hub dataset")
    return url_to_fs(source.location, **storage_options(source, settings))


def partition_size(uri: str, day: str, settings: Settings | None = None) -> int:
    """Bytes the day's partition holds now (0 when it does not exist yet)."""
    fs, root = _filesystem(uri, settings)
    path = f"{root.rstrip('/')}/{partition_name(day)}"
    try:
        return sum(info["size"] for info in fs.ls(path, detail=True) if info["type"] == "file")
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise DataError(f"cannot list {uri}/{partition_name(day)}: {exc}") from exc


def read_captures(
    uri: str,
    *,
    since: date | None = None,
    until: date | None = None,
    settings: Settings | None = None,
) -> Iterator[dict[str, Any]]:
    """Every captured record of the days in ``[since, until]`` (both inclusive), by day.

    Raises:
        DataError: the capture location cannot be listed or a part is not JSONL.
    """
    fs, root = _filesystem(uri, settings)
    root = root.rstrip("/")
    try:
        fs.invalidate_cache(root)
        days = sorted(
            info["name"].rstrip("/").rsplit("/", 1)[-1][len(PARTITION_PREFIX) :]
            for info in fs.ls(root, detail=True)
            if info["type"] == "directory"
            and info["name"].rstrip("/").rsplit("/", 1)[-1].startswith(PARTITION_PREFIX)
        )
    except FileNotFoundError as exc:
        raise DataError(f"no captures at {uri}: the location does not exist") from exc
    except OSError as exc:
        raise DataError(f"cannot list captures at {uri}: {exc}") from exc
    for day in days:
        moment = date.fromisoformat(day)
        if (since and moment < since) or (until and moment > until):
            continue
        folder = f"{root}/{partition_name(day)}"
        for path in sorted(fs.ls(folder, detail=False)):
            if not path.endswith(".jsonl"):
                continue
            with fs.open(path, "rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{path} line {number} is not JSON: {exc}") from exc
