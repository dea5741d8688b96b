"""Digests name exact content; deduplication sees through cosmetic differences only."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from libra_guard.data.dedup import dedup_rows, normalise_text
from libra_guard.data.digest import dataset_digest, read_digest, write_digest
from libra_guard.data.io import write_jsonl
from libra_guard.data.schema import GuardRow
from libra_guard.errors import DataError
from tests.data.rows import make_row


def test_digest_is_stable_and_independent_of_key_order(rows: list[GuardRow]) -> None:
    as_dicts = [dict(reversed(list(row.to_json_dict().items()))) for row in rows]

    assert dataset_digest(rows) == dataset_digest(list(rows))
    assert dataset_digest(rows) == dataset_digest(as_dicts)
    assert len(dataset_digest(rows)) == 64


def test_digest_changes_with_content_and_order(rows: list[GuardRow]) -> None:
    edited = [rows[0].model_copy(update={"response": rows[0].response + "。"}), *rows[1:]]
    relabelled = [rows[0].model_copy(update={"label": "不安全"}), *rows[1:]]

    assert dataset_digest(edited) != dataset_digest(rows)
    assert dataset_digest(relabelled) != dataset_digest(rows)
    assert dataset_digest(list(reversed(rows))) != dataset_digest(rows)
    assert dataset_digest(rows[:-1]) != dataset_digest(rows)


def test_digest_file_is_sha256sum_compatible(tmp_path: Path, rows: list[GuardRow]) -> None:
    path = write_jsonl(rows, tmp_path / "rows.jsonl")
    digest = dataset_digest(rows)

    written = write_digest(path, digest)

    assert written == tmp_path / "rows.jsonl.sha256"
    assert written.read_text() == f"{digest}  rows.jsonl\n"
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest
    assert read_digest(path) == read_digest(written) == digest
    if shutil.which("sha256sum"):
        check = subprocess.run(
            ["sha256sum", "-c", "rows.jsonl.sha256"], cwd=tmp_path, capture_output=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_bad_digests_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl.sha256").write_text("not a digest\n")

    with pytest.raises(DataError, match="expected '<sha256 hex>  <file name>'"):
        read_digest(tmp_path / "rows.jsonl")
    with pytest.raises(DataError, match="no such file"):
        read_digest(tmp_path / "other.jsonl")
    with pytest.raises(DataError, match="not a sha256 hex digest"):
        write_digest(tmp_path / "rows.jsonl", "abc")


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("  How  do\tI\nREPORT fraud? ", "how do i report fraud?"),
        ("ＡＢＣ１２３，怎么办？", "abc123,怎么办?"),
        ("如何　举报\u00a0诈骗", "如何 举报 诈骗"),
    ],
)
def test_normalise_text(text: str, normalised: str) -> None:
    assert normalise_text(text) == normalised


def test_dedup_keeps_first_and_names_it() -> None:
    first = GuardRow(**make_row(1, question="Ｈow to  report?", response="Call 110"))
    copy = GuardRow(**make_row(2, question="how to report?", response=" call 110 "))
    other_answer = GuardRow(**make_row(3, question="how to report?", response="Call 120"))

    kept, duplicates = dedup_rows([first, copy, other_answer])

    assert kept == [first, other_answer]
    assert duplicates == [(copy, "r1")]
    assert duplicates[0].first_id == "r1"
