"""Reading and writing rows by URI: local paths, file://, s3:// (moto), hf:// (local folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from libra_guard.data.digest import read_digest, write_digest
from libra_guard.data.io import iter_raw_records, read_rows, write_json_list, write_jsonl
from libra_guard.data.schema import GuardRow
from libra_guard.data.sources import resolve_source
from libra_guard.errors import DataError
from tests.data.rows import make_row


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_jsonl_round_trip_keeps_every_field(tmp_path: Path, rows: list[GuardRow]) -> None:
    path = write_jsonl(rows, tmp_path / "nested" / "rows.jsonl")

    assert read_rows(path) == rows
    assert read_rows(path)[3].model_extra == {"model": "qwen"}
    text = Path(path).read_text(encoding="utf-8")
    assert "违法犯罪" in text, "Chinese must be written as characters, not \\u escapes"
    assert _leftovers(tmp_path / "nested") == []


def test_json_list_round_trip(tmp_path: Path, rows: list[GuardRow]) -> None:
    path = write_json_list(rows, tmp_path / "test.json")

    assert isinstance(json.loads(Path(path).read_text(encoding="utf-8")), list)
    assert read_rows(path) == rows


def test_layout_is_detected_by_content_not_extension(tmp_path: Path, rows: list[GuardRow]) -> None:
    as_list = tmp_path / "rows-without-extension"
    write_json_list(rows, as_list)
    as_lines = tmp_path / "lines.json"
    write_jsonl(rows, as_lines)

    assert read_rows(as_list) == rows
    assert read_rows(as_lines) == rows


def test_dicts_are_accepted_and_integer_ids_become_strings(tmp_path: Path) -> None:
    path = write_jsonl([make_row(1, id=7)], tmp_path / "rows.jsonl")

    assert read_rows(path)[0].id == "7"


def test_file_uri(tmp_path: Path, rows: list[GuardRow]) -> None:
    uri = (tmp_path / "dir with space" / "rows.jsonl").as_uri()
    write_jsonl(rows, uri)

    assert (tmp_path / "dir with space" / "rows.jsonl").is_file()
    assert read_rows(uri) == rows


def test_blank_lines_and_bom_are_tolerated(tmp_path: Path, rows: list[GuardRow]) -> None:
    lines = [json.dumps(row.to_json_dict(), ensure_ascii=False) for row in rows[:2]]
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + f"\n{lines[0]}\r\n\n{lines[1]}\n\n".encode())

    assert read_rows(path) == rows[:2]
    assert [record.position for record in iter_raw_records(path)] == [2, 4]


def test_strict_read_names_file_and_line_of_first_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    lines = [make_row(1), make_row(2, label=None), make_row(3, label="危险")]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in lines) + "\n", "utf-8")

    with pytest.raises(DataError, match=r"rows\.jsonl line 2: missing field 'label'"):
        read_rows(path)


def test_strict_read_names_index_in_a_json_list(tmp_path: Path) -> None:
    path = tmp_path / "test.json"
    path.write_text(json.dumps([make_row(1), make_row(2, response=" ")]), "utf-8")

    with pytest.raises(DataError, match=r"test\.json index 1: empty text in 'response'"):
        read_rows(path)


def test_strict_read_reports_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    good = json.dumps(make_row(1)).encode()
    path.write_bytes(good + b"\n" + b'{"id": "\xff"}\n')

    with pytest.raises(DataError, match="line 2: invalid UTF-8 at byte 8"):
        read_rows(path)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing\.jsonl: no such file"):
        read_rows(tmp_path / "missing.jsonl")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("ftp://host/rows.jsonl", "unsupported scheme 'ftp://'"),
        ("s3://bucket-only", "needs a bucket and a key"),
        ("", "empty data URI"),
    ],
)
def test_unsupported_uris_are_data_errors(uri: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_rows(uri)


def test_broken_json_list_is_one_error_for_the_file(tmp_path: Path) -> None:
    path = tmp_path / "test.json"
    path.write_text('[{"id": "1"},\n  {"id": ', "utf-8")

    with pytest.raises(DataError, match=r"invalid JSON list: .* line 2"):
        read_rows(path)


def test_failed_write_leaves_previous_file_intact(tmp_path: Path, rows: list[GuardRow]) -> None:
    path = write_jsonl(rows, tmp_path / "rows.jsonl")
    before = Path(path).read_bytes()

    with pytest.raises(TypeError):
        write_jsonl([rows[0], {"id": object()}], path)

    assert Path(path).read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_hub_uris_are_parsed_into_id_and_split() -> None:
    with_split = resolve_source("hf://datasets/caskcsg/Libra-Test:test")
    without = resolve_source("hf://datasets/caskcsg/Libra-Test")

    assert (with_split.kind, with_split.location, with_split.split) == (
        "hub",
        "caskcsg/Libra-Test",
        "test",
    )
    assert (without.location, without.split) == ("caskcsg/Libra-Test", None)


@pytest.fixture
def offline_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep ``datasets`` offline and its cache under tmp_path."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")


@pytest.mark.usefixtures("offline_hub_cache")
def test_hub_path_reads_a_local_dataset_folder(tmp_path: Path, rows: list[GuardRow]) -> None:
    folder = tmp_path / "libra-test"
    write_jsonl(rows, folder / "test.jsonl")

    assert read_rows(f"hf://datasets/{folder}:test") == rows
    assert read_rows(f"hf://datasets/{folder}") == rows, "a single split needs no name"
    with pytest.raises(DataError, match="no split 'train' \\(has test\\)"):
        read_rows(f"hf://datasets/{folder}:train")


@pytest.mark.usefixtures("offline_hub_cache")
def test_hub_path_needs_a_split_name_when_ambiguous(tmp_path: Path, rows: list[GuardRow]) -> None:
    folder = tmp_path / "two-splits"
    write_jsonl([rows[0]], folder / "train.jsonl")
    write_jsonl([rows[2]], folder / "validation.jsonl")

    with pytest.raises(DataError, match="has splits train, validation; name one"):
        read_rows(f"hf://datasets/{folder}")
    assert read_rows(f"hf://datasets/{folder}:validation") == [rows[2]]


def test_s3_round_trip_through_minio_settings(s3_bucket: str, rows: list[GuardRow]) -> None:
    uri = f"s3://{s3_bucket}/datasets/rows.jsonl"
    assert write_jsonl(rows, uri) == uri
    write_digest(uri, "ab" * 32)

    assert read_rows(uri) == rows
    assert read_digest(uri) == "ab" * 32


def test_s3_json_list_without_extension(s3_bucket: str, rows: list[GuardRow]) -> None:
    uri = f"s3://{s3_bucket}/libra-test"
    write_json_list(rows, uri)

    assert read_rows(uri) == rows


def test_s3_missing_object_is_a_data_error(s3_bucket: str) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_rows(f"s3://{s3_bucket}/absent.jsonl")
