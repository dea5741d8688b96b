"""One atomic-write module: every write is all-or-nothing and fsynced (file and folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from libra_guard import atomic


@pytest.fixture
def synced(monkeypatch) -> list[str]:
    """Records what each ``os.fsync`` call synced (file or folder), then syncs it."""
    seen: list[str] = []
    real = os.fsync

    def recording(descriptor: int) -> None:
        seen.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real(descriptor)

    monkeypatch.setattr(atomic.os, "fsync", recording)
    return seen


def test_write_file_atomic_syncs_the_file_and_its_folder(tmp_path: Path, synced) -> None:
    target = tmp_path / "out" / "metrics.json"
    atomic.write_file_atomic(target, "{}")
    assert target.read_text() == "{}"
    assert str(target.parent) in synced
    assert any(Path(path).name.startswith(".metrics.json.") for path in synced)
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)


def test_write_file_atomic_accepts_bytes_chunks_and_writers(tmp_path: Path) -> None:
    assert atomic.write_file_atomic(tmp_path / "a", b"x").read_bytes() == b"x"
    assert atomic.write_file_atomic(tmp_path / "b", iter([b"1", b"2"])).read_bytes() == b"12"
    assert atomic.write_file_atomic(tmp_path / "c", lambda s: s.write(b"w")).read_bytes() == b"w"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_litter(tmp_path: Path) -> None:
    target = tmp_path / "predictions.jsonl"
    target.write_text("old")

    def broken(stream) -> None:
        stream.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic.write_file_atomic(target, broken)
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["predictions.jsonl"]


def test_staged_folder_replaces_the_old_folder_and_syncs_its_files(tmp_path: Path, synced) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.bin").write_text("old")
    with atomic.staged_folder(target) as staging:
        (staging / "weights.bin").write_text("new")
    assert [path.name for path in target.iterdir()] == ["weights.bin"]
    assert any(path.endswith("weights.bin") for path in synced)
    assert [path.name for path in tmp_path.iterdir()] == ["model"]


def test_a_failed_build_leaves_the_published_folder_intact(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights.bin").write_text("old")
    with pytest.raises(ValueError), atomic.staged_folder(target) as staging:
        (staging / "weights.bin").write_text("half")
        raise ValueError("training crashed")
    assert (target / "weights.bin").read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["model"]


def test_keep_existing_keeps_the_folder_another_process_published(tmp_path: Path) -> None:
    target = tmp_path / "download"
    with atomic.staged_folder(target, keep_existing=True) as staging:
        (staging / "MLmodel").write_text("mine")
        target.mkdir()
        (target / "MLmodel").write_text("theirs")
    assert (target / "MLmodel").read_text() == "theirs"
    assert [path.name for path in tmp_path.iterdir()] == ["download"]
