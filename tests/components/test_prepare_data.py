"""``prepare_data``'s function with fake output artifacts."""

from __future__ import annotations

from pathlib import Path

from kfp.dsl import Dataset

from components.prepare_data import prepare_data
from libra_guard.data.dedup import content_key
from libra_guard.data.digest import dataset_digest
from libra_guard.data.io import read_rows
from tests.components.conftest import artifact

SIZES = {"stage1_rows": 40, "stage2_rows": 20, "test_rows_per_source": 10, "seed": 3}


def test_writes_three_digested_datasets_without_test_leakage(tmp_path: Path) -> None:
    outputs = {name: artifact(Dataset, tmp_path / name) for name in ("stage1", "stage2", "test")}
    prepare_data.python_func(
        data_config=SIZES,
        stage1_data=outputs["stage1"],
        stage2_data=outputs["stage2"],
        test_data=outputs["test"],
    )
    rows = {name: read_rows(data.path) for name, data in outputs.items()}
    assert 0 < len(rows["stage1"]) <= 40 and 0 < len(rows["stage2"]) <= 20
    for name, data in outputs.items():
        assert data.metadata["sha256"] == dataset_digest(rows[name])
        assert data.metadata["rows"] == len(rows[name])
    training = {content_key(row) for row in [*rows["stage1"], *rows["stage2"]]}
    assert not training & {content_key(row) for row in rows["test"]}
    assert not list(tmp_path.glob(".*partial"))


def test_same_config_gives_the_same_digests(tmp_path: Path) -> None:
    digests = []
    for attempt in ("a", "b"):
        outputs = [artifact(Dataset, tmp_path / attempt / name) for name in ("s1", "s2", "t")]
        prepare_data.python_func(SIZES, *outputs)
        digests.append([data.metadata["sha256"] for data in outputs])
    assert digests[0] == digests[1]
