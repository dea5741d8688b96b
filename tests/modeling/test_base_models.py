"""Bases from MinIO: a from-config Qwen2 saved to a folder, imported to a local S3 API (moto),
downloaded once into the node's cache, verified file by file, and refused when it does not
match its manifest."""

from __future__ import annotations

import json

import boto3
import pytest
import torch
from typer.testing import CliRunner

from libra_guard.cli.main import app
from libra_guard.errors import ModelError
from libra_guard.modeling.base_models import MANIFEST_FILE, materialize_base
from libra_guard.modeling.factory import load_causal_lm


def _client(moto_endpoint: str):
    return boto3.client(
        "s3", endpoint_url=moto_endpoint, aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="us-east-1",
    )  # fmt: skip


@pytest.fixture
def imported(tiny_base, s3_bucket) -> str:
    """``tiny_base`` mirrored to s3://BUCKET/bases/tiny with the CLI."""
    uri = f"s3://{s3_bucket}/bases/tiny"
    result = CliRunner().invoke(app, ["models", "import", str(tiny_base), uri])
    assert result.exit_code == 0, result.output
    assert "imported" in result.output
    return uri


def test_imported_base_loads_with_the_same_weights(imported, tiny_base, tmp_path) -> None:
    folder = materialize_base(imported, tmp_path / "cache")
    loaded, original = load_causal_lm(folder), load_causal_lm(tiny_base)
    for (name, a), (_, b) in zip(
        loaded.state_dict().items(), original.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_second_materialize_reuses_the_node_cache(
    imported, s3_bucket, moto_endpoint, tmp_path
) -> None:
    first = materialize_base(imported, tmp_path / "cache")
    # Remove a weight file remotely: a reused cache does not notice, a new download would fail.
    _client(moto_endpoint).delete_object(Bucket=s3_bucket, Key="bases/tiny/config.json")
    assert materialize_base(imported, tmp_path / "cache") == first
    with pytest.raises(ModelError, match="missing"):
        materialize_base(imported, tmp_path / "other-node")


def test_a_changed_file_is_refused(imported, s3_bucket, moto_endpoint, tmp_path) -> None:
    _client(moto_endpoint).put_object(
        Bucket=s3_bucket, Key="bases/tiny/config.json", Body=b'{"tampered": true}'
    )
    with pytest.raises(ModelError, match="does not match its sha256"):
        materialize_base(imported, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("tiny-*/config.json"))


def test_an_unlisted_file_is_refused(imported, s3_bucket, moto_endpoint, tmp_path) -> None:
    _client(moto_endpoint).put_object(Bucket=s3_bucket, Key="bases/tiny/extra.py", Body=b"x")
    with pytest.raises(ModelError, match=r"not in its manifest: extra\.py"):
        materialize_base(imported, tmp_path / "cache")


def test_a_prefix_without_manifest_is_refused(imported, s3_bucket, moto_endpoint, tmp_path):
    _client(moto_endpoint).delete_object(Bucket=s3_bucket, Key=f"bases/tiny/{MANIFEST_FILE}")
    with pytest.raises(ModelError, match=r"no libra_manifest\.json"):
        materialize_base(imported, tmp_path / "cache")


def test_a_manifest_path_leaving_the_folder_is_refused(
    imported, s3_bucket, moto_endpoint, tmp_path
) -> None:
    manifest = {"../../outside.txt": "0" * 64}
    _client(moto_endpoint).put_object(
        Bucket=s3_bucket, Key=f"bases/tiny/{MANIFEST_FILE}", Body=json.dumps(manifest).encode()
    )
    with pytest.raises(ModelError, match="leaves the model folder"):
        materialize_base(imported, tmp_path / "cache")
    assert not (tmp_path / "outside.txt").exists()


def test_import_needs_an_s3_destination_and_a_model_folder(tmp_path, s3_bucket) -> None:
    result = CliRunner().invoke(app, ["models", "import", str(tmp_path), str(tmp_path / "x")])
    assert result.exit_code == 2 and "s3://" in result.output
    result = CliRunner().invoke(app, ["models", "import", str(tmp_path), f"s3://{s3_bucket}/x"])
    assert result.exit_code == 2 and "config.json" in result.output


def test_local_folders_and_hub_ids_pass_through(tmp_path) -> None:
    assert materialize_base(str(tmp_path), tmp_path / "cache") == str(tmp_path)
    assert materialize_base("Qwen/Qwen2.5-0.5B-Instruct", tmp_path) == "Qwen/Qwen2.5-0.5B-Instruct"
