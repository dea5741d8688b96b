"""``prepare_data``'s function with fake output artifacts."""

from __future__ import annotations

import json
from pathlib import Path

from kfp.dsl import Artifact, Dataset

from components.prepare_data import prepare_data
from libra_guard.data.dedup import content_key
from libra_guard.data.digest import dataset_digest
from libra_guard.data.io import read_rows
from libra_guard.tracking import runs
from libra_guard.tracking.store import client
from tests.components.conftest import artifact
from tests.data.rows import make_row

SIZES = {"stage1_rows": 40, "stage2_rows": 20, "test_rows_per_source": 10, "seed": 3}


def test_writes_three_digested_datasets_without_test_leakage(tmp_path: Path) -> None:
    outputs = {name: artifact(Dataset, tmp_path / name) for name in ("stage1", "stage2", "test")}
    prepare_data.python_func(
        data_config=SIZES,
        stage1_data=outputs["stage1"],
        stage2_data=outputs["stage2"],
        test_data=outputs["test"],
        quarantine=artifact(Artifact, tmp_path / "quarantine"),
    )
    rows = {name: read_rows(data.path) for name, data in outputs.items()}
    responses = {
        name: [row for row in found if row.task == "response"] for name, found in rows.items()
    }
    assert 0 < len(responses["stage1"]) <= 40 and 0 < len(responses["stage2"]) <= 20
    # The default prompt share (0.2) adds prompt-task rows from the same questions.
    assert len(rows["stage1"]) - len(responses["stage1"]) == 8
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
        prepare_data.python_func(SIZES, *outputs, artifact(Artifact, tmp_path / attempt / "q"))
        digests.append([data.metadata["sha256"] for data in outputs])
    assert digests[0] == digests[1]


def test_quarantine_files_are_kept_as_an_artifact_and_counted_in_mlflow(
    tmp_path: Path, tracking_uri: str, monkeypatch
) -> None:
    real = tmp_path / "real.jsonl"
    lines = [json.dumps(make_row(i), ensure_ascii=False) for i in range(30)]
    lines[5] = '{"id": "broken", '
    lines[9] = json.dumps(make_row(9, label="危险"), ensure_ascii=False)
    real.write_text("\n".join(lines) + "\n", "utf-8")
    parent = runs.start_pipeline_run("run-q", experiment="prepare")
    monkeypatch.setenv("LIBRA_MLFLOW_PARENT_RUN_ID", parent)
    outputs = [artifact(Dataset, tmp_path / name) for name in ("s1", "s2", "t")]
    quarantine = artifact(Artifact, tmp_path / "quarantine")

    prepare_data.python_func({**SIZES, "real_data": str(real)}, *outputs, quarantine)

    folder = Path(quarantine.path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "real.quarantine.jsonl",
        "stage1.quarantine.jsonl",
        "stage2.quarantine.jsonl",
        "test.quarantine.jsonl",
    ]
    rejected = (folder / "real.quarantine.jsonl").read_text("utf-8").splitlines()
    assert sorted(json.loads(line)["line"] for line in rejected) == [6, 10]
    assert quarantine.metadata["real"] == 2
    mlflow_client = client(tracking_uri)
    [nested] = mlflow_client.search_runs(
        [mlflow_client.get_run(parent).info.experiment_id],
        filter_string="tags.`libra.stage` = 'prepare_data'",
    )
    assert nested.data.metrics["real_quarantined"] == 2
    logged = [item.path for item in mlflow_client.list_artifacts(nested.info.run_id, "quarantine")]
    assert "quarantine/real.quarantine.jsonl" in logged
