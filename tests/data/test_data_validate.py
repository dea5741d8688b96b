"""Validation: every good row kept, every bad one quarantined with its line and reason."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import fsspec
import pytest

from libra_guard.data.digest import dataset_digest, read_digest
from libra_guard.data.io import read_rows, write_json_list
from libra_guard.data.validate import quarantine_uri, validate_file
from libra_guard.errors import DataError
from libra_guard.settings import Settings
from tests.data.rows import make_row

MAX_CHARS = 40
SAME_ANSWER = "不要轻信陌生来电。"


def _line(row: dict) -> bytes:
    return json.dumps(row, ensure_ascii=False).encode("utf-8")


def _mixed_file(path: Path) -> dict[int, tuple[str, str]]:
    """Write a file mixing good rows and one broken row of every class.

    Returns the expected quarantine: line -> (kind, reason).
    """
    bad_utf8 = _line(make_row(6)).replace("问题".encode(), b"\xff\xfe", 1)
    lines = [
        _line(make_row(1, id="a")),
        _line(make_row(2, label=None)),
        _line(make_row(3, label="危险")),
        _line(make_row(4, response="  \n ")),
        _line(make_row(5, response="长" * (MAX_CHARS + 1))),
        bad_utf8,
        b'{"id": "x", "source": ',
        _line(make_row(8, id="b", question="How do I  report Fraud?", response=SAME_ANSWER)),
        _line(make_row(9, id="a")),
        b"",
        _line(
            make_row(
                11,
                id="b2",
                question=" how do i report fraud？ ",
                response=SAME_ANSWER,
                label="不安全",
            )
        ),
        _line(make_row(12, id="c")),
        _line(
            make_row(
                13, id="b3", question="HOW DO I REPORT FRAUD?", response=SAME_ANSWER, label="安全"
            )
        ),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    utf8_error_at = bad_utf8.index(b"\xff")
    return {
        2: ("missing field", "missing field 'label'"),
        3: ("unknown label", "unknown label '危险' (expected 安全 or 不安全)"),
        4: ("empty text", "empty text in 'response'"),
        5: ("too long", f"response is {MAX_CHARS + 1} characters (limit {MAX_CHARS})"),
        6: ("invalid UTF-8", f"invalid UTF-8 at byte {utf8_error_at}"),
        7: ("invalid JSON", "invalid JSON: Expecting value at column 23"),
        9: ("duplicate id", "duplicate id 'a' (first seen on line 1)"),
        11: ("duplicate content", "duplicate content of id 'b' (line 8)"),
        13: ("duplicate content", "duplicate content of id 'b' (line 8), with a different label"),
    }


def test_every_good_row_kept_and_every_bad_row_quarantined(tmp_path: Path) -> None:
    raw_path = tmp_path / "raw.jsonl"
    expected = _mixed_file(raw_path)
    raw_lines = raw_path.read_bytes().split(b"\n")
    out = tmp_path / "clean" / "clean.jsonl"

    report = validate_file(raw_path, out, max_chars=MAX_CHARS)

    assert [row.id for row in read_rows(out)] == ["a", "b", "c"]
    quarantine_path = tmp_path / "clean" / "clean.quarantine.jsonl"
    entries = [json.loads(line) for line in quarantine_path.read_text("utf-8").splitlines()]
    assert {e["line"]: (e["kind"], e["reason"]) for e in entries} == expected
    for entry in entries:
        original = raw_lines[entry["line"] - 1].decode("utf-8", errors="replace")
        assert entry["raw"] == original, f"line {entry['line']} must be kept verbatim"
    assert "\ufffd" in next(e["raw"] for e in entries if e["kind"] == "invalid UTF-8")
    assert (report.kept, report.quarantined, report.total) == (3, 9, 12)
    assert report.reasons == {"duplicate content": 2} | {
        kind: 1 for kind, _ in expected.values() if kind != "duplicate content"
    }
    assert report.quarantine_path == str(quarantine_path)
    assert report.examples[0] == (2, "missing field 'label'")


def test_digest_of_out_is_written_beside_it(tmp_path: Path) -> None:
    raw_path = tmp_path / "raw.jsonl"
    _mixed_file(raw_path)
    out = tmp_path / "clean.jsonl"

    report = validate_file(raw_path, out, max_chars=MAX_CHARS)

    assert report.digest == read_digest(out) == dataset_digest(read_rows(out))
    assert report.digest == hashlib.sha256(out.read_bytes()).hexdigest()
    assert (tmp_path / "clean.jsonl.sha256").read_text() == f"{report.digest}  clean.jsonl\n"


def test_default_limit_is_8000_characters(tmp_path: Path) -> None:
    raw_path = tmp_path / "raw.jsonl"
    raw_path.write_bytes(
        _line(make_row(1, response="长" * 8000)) + b"\n" + _line(make_row(2, response="长" * 8001))
    )

    report = validate_file(raw_path, tmp_path / "clean.jsonl")

    assert report.kept == 1
    assert report.examples == [(2, "response is 8001 characters (limit 8000)")]


def test_json_list_positions_are_indexes(tmp_path: Path) -> None:
    source = tmp_path / "test.json"
    write_json_list([make_row(1), make_row(2, label="unsafe"), make_row(1, id="dup")], source)

    report = validate_file(source, tmp_path / "clean.jsonl")

    assert report.position_word == "index"
    assert report.examples == [
        (1, "unknown label 'unsafe' (expected 安全 or 不安全)"),
        (2, "duplicate content of id 'r1' (index 0)"),
    ]


def test_all_good_input_still_writes_an_empty_quarantine(tmp_path: Path) -> None:
    source = tmp_path / "raw.jsonl"
    source.write_bytes(_line(make_row(1)) + b"\n" + _line(make_row(2)) + b"\n")

    report = validate_file(source, tmp_path / "clean.jsonl")

    assert (report.kept, report.quarantined, report.reasons) == (2, 0, {})
    assert (tmp_path / "clean.quarantine.jsonl").read_bytes() == b""


def test_unreadable_input_raises_instead_of_writing(tmp_path: Path) -> None:
    broken_list = tmp_path / "test.json"
    broken_list.write_text("[{", "utf-8")

    with pytest.raises(DataError, match="no such file"):
        validate_file(tmp_path / "absent.jsonl", tmp_path / "clean.jsonl")
    with pytest.raises(DataError, match="invalid JSON list"):
        validate_file(broken_list, tmp_path / "clean.jsonl")
    assert not (tmp_path / "clean.jsonl").exists()


@pytest.mark.parametrize(
    ("out", "quarantine"),
    [
        ("data/clean.jsonl", "data/clean.quarantine.jsonl"),
        ("data/clean", "data/clean.quarantine.jsonl"),
        ("data/v1.2.jsonl", "data/v1.2.quarantine.jsonl"),
        ("s3://bucket/sets/clean.jsonl", "s3://bucket/sets/clean.quarantine.jsonl"),
    ],
)
def test_quarantine_file_sits_beside_out(out: str, quarantine: str) -> None:
    assert quarantine_uri(out) == quarantine


def test_validate_from_s3_to_s3(s3_bucket: str, tmp_path: Path) -> None:
    raw_path = tmp_path / "raw.jsonl"
    _mixed_file(raw_path)
    raw_uri = f"s3://{s3_bucket}/raw/raw.jsonl"
    with fsspec.open(raw_uri, "wb", **Settings().storage_options()) as handle:
        handle.write(raw_path.read_bytes())

    report = validate_file(raw_uri, f"s3://{s3_bucket}/clean/clean.jsonl", max_chars=MAX_CHARS)

    assert (report.kept, report.quarantined) == (3, 9)
    assert [row.id for row in read_rows(report.out_path)] == ["a", "b", "c"]
    assert read_digest(report.out_path) == report.digest
    with fsspec.open(report.quarantine_path, "rt", **Settings().storage_options()) as handle:
        assert [json.loads(line)["line"] for line in handle] == [2, 3, 4, 5, 6, 7, 9, 11, 13]
