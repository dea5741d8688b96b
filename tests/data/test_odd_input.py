"""Odd input loses nothing and crashes nothing: every such record is kept or quarantined."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from libra_guard.data.io import read_rows
from libra_guard.data.sources import resolve_source
from libra_guard.data.validate import validate_file
from libra_guard.errors import DataError, ModelError
from libra_guard.tracking.registry import check_model_name
from tests.data.rows import make_row


def _quarantined(tmp_path: Path) -> list[dict]:
    text = (tmp_path / "clean.quarantine.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_a_lone_surrogate_is_quarantined_not_a_crash(tmp_path: Path) -> None:
    good = json.dumps(make_row(1), ensure_ascii=False)
    surrogate = json.dumps(make_row(2)).replace('"response": "', '"response": "\\ud800', 1)
    extra = json.dumps({**make_row(3), "note": "\\udfff"}).replace("\\\\udfff", "\\udfff")
    source = tmp_path / "raw.jsonl"
    source.write_text("\n".join([good, surrogate, extra]) + "\n", "utf-8")

    report = validate_file(source, tmp_path / "clean.jsonl")

    assert (report.kept, report.reasons) == (1, {"invalid Unicode": 2})
    [first, second] = _quarantined(tmp_path)
    assert "response" in first["reason"] and "note" in second["reason"]
    assert first["raw"] == surrogate  # the original line, escape and all


def test_json_list_with_a_lone_surrogate_is_quarantined_too(tmp_path: Path) -> None:
    source = tmp_path / "test.json"
    rows = [make_row(1), {**make_row(2), "response": "\ud800坏"}]
    source.write_text(json.dumps(rows, ensure_ascii=True), "utf-8")
    report = validate_file(source, tmp_path / "clean.jsonl")
    assert (report.kept, report.reasons) == (1, {"invalid Unicode": 1})
    [entry] = _quarantined(tmp_path)
    assert json.loads(entry["raw"])["response"] == "\ud800坏"  # kept exactly, as an escape


def test_null_extra_fields_are_kept_and_nan_is_quarantined(tmp_path: Path) -> None:
    with_null = json.dumps({**make_row(1), "reviewer": None, "scores": [1, None]})
    with_nan = json.dumps({**make_row(2), "score": float("nan")})
    with_inf = json.dumps({**make_row(3), "meta": {"weight": float("inf")}})
    source = tmp_path / "raw.jsonl"
    source.write_text("\n".join([with_null, with_nan, with_inf]) + "\n", "utf-8")

    report = validate_file(source, tmp_path / "clean.jsonl")

    assert (report.kept, report.reasons) == (1, {"invalid number": 2})
    [kept] = [
        json.loads(line)
        for line in (tmp_path / "clean.jsonl").read_text("utf-8").split("\n")
        if line
    ]
    assert kept["reviewer"] is None and kept["scores"] == [1, None]
    reasons = [entry["reason"] for entry in _quarantined(tmp_path)]
    assert "'score' is nan" in reasons[0] and "'meta.weight' is inf" in reasons[1]


def test_invalid_utf8_keeps_its_original_bytes(tmp_path: Path) -> None:
    broken = json.dumps(make_row(1), ensure_ascii=False).encode().replace("问".encode(), b"\xff")
    source = tmp_path / "raw.jsonl"
    source.write_bytes(broken + b"\n")
    validate_file(source, tmp_path / "clean.jsonl")
    [entry] = _quarantined(tmp_path)
    assert entry["kind"] == "invalid UTF-8"
    assert base64.b64decode(entry["raw_base64"]) == broken


def test_an_over_long_line_is_quarantined_without_being_read_whole(tmp_path: Path) -> None:
    huge = json.dumps({**make_row(2), "blob": "x" * 5000})
    source = tmp_path / "raw.jsonl"
    lines = [json.dumps(make_row(1)), huge, json.dumps(make_row(3))]
    source.write_text("\n".join(lines) + "\n", "utf-8")

    report = validate_file(source, tmp_path / "clean.jsonl", max_line_bytes=1000)

    assert (report.kept, report.reasons) == (2, {"too long": 1})
    [entry] = _quarantined(tmp_path)
    assert entry["line"] == 2 and f"{len(huge)} bytes" in entry["reason"]
    assert len(entry["raw"]) <= 200


def test_out_equal_to_in_is_refused_and_the_input_survives(tmp_path: Path) -> None:
    source = tmp_path / "raw.jsonl"
    source.write_text(json.dumps(make_row(1)) + "\n" + "{broken\n", "utf-8")
    before = source.read_bytes()
    with pytest.raises(DataError, match="is the input file"):
        validate_file(source, tmp_path / "." / "raw.jsonl")
    assert source.read_bytes() == before


def test_split_refuses_one_file_for_both_sides(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from libra_guard.cli.main import app

    source = tmp_path / "raw.jsonl"
    source.write_text("\n".join(json.dumps(make_row(i)) for i in range(4)) + "\n", "utf-8")
    same = str(tmp_path / "out.jsonl")
    result = CliRunner().invoke(
        app, ["data", "split", str(source), "--train-out", same, "--test-out", same]
    )
    assert result.exit_code != 0 and "same file" in result.output
    assert not Path(same).exists()
    assert len(read_rows(source)) == 4


@pytest.mark.parametrize(
    "uri", ["s3://bucket/../other/x.jsonl", "s3://bucket/a/../../b.jsonl", "s3://bucket/./x"]
)
def test_s3_keys_with_dot_segments_are_refused(uri: str) -> None:
    with pytest.raises(DataError, match="path segment"):
        resolve_source(uri)


@pytest.mark.parametrize("name", ["..", "../escape", "a/../../b"])
def test_model_names_with_dot_segments_are_refused(name: str, tmp_path: Path) -> None:
    from libra_guard.tracking.registry import download_model

    with pytest.raises(ModelError, match="refusing the model name"):
        check_model_name(name)
    # A models:/ URI cannot hold a slash in the name, but ".." itself reached the cache path.
    with pytest.raises(ModelError, match="refusing the model name"):
        download_model("models:/../1", dst=tmp_path / "models", tracking_uri="sqlite:///x.db")
    assert not (tmp_path / "models").exists()


def test_the_s3_secret_never_shows_in_a_dump_or_repr(monkeypatch) -> None:
    from libra_guard.settings import Settings

    monkeypatch.setenv("LIBRA_S3_SECRET_KEY", "minio-secret-value")
    settings = Settings()
    assert "minio-secret-value" not in repr(settings)
    assert "minio-secret-value" not in settings.model_dump_json()
    assert settings.storage_options()["secret"] == "minio-secret-value"
