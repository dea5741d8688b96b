"""``prepare_data``: synthesise (or read) the run's datasets, validate and digest each one.

The step is a pure function of its parameters, so the local runner's cache can reuse it: the
real-data file enters the cache key through ``source_fingerprint`` (its content hash), not
only through its path.
"""

from kfp import dsl
from kfp.dsl import Dataset, Output

from components import COMPONENT_OPTIONS, PROJECT_IMAGE


@dsl.component(base_image=PROJECT_IMAGE, **COMPONENT_OPTIONS)
def prepare_data(
    data_config: dict,
    stage1_data: Output[Dataset],
    stage2_data: Output[Dataset],
    test_data: Output[Dataset],
    source_fingerprint: str = "",
) -> None:
    """Write the stage-1, stage-2 and test datasets of one pipeline run.

    Every dataset is validated (bad rows quarantined and counted), deduplicated against
    training for the test set, and digested (sha256 of a canonical serialisation).

    Args:
        data_config: ``libra_guard.demo.DemoConfig`` fields (seed, stage1_rows, stage2_rows,
            test_rows_per_source, real_data, real_test_fraction); ``train``, ``eval_mode``
            and ``eval_batch_size`` are ignored here. Empty: the demo defaults.
        stage1_data: output JSONL of synthetic stage-1 rows; metadata ``sha256``, ``rows``,
            ``quarantined``.
        stage2_data: output JSONL of stage-2 rows (the "hard" synthetic flavour, or the
            training part of ``real_data``); same metadata.
        test_data: output JSONL of held-out rows, none of whose (question, response) pairs
            occurs in training; same metadata plus ``removed_overlap``.
        source_fingerprint: the sha256 of ``real_data``'s content (empty without real data);
            only part of the cache key, so a changed file is never served from the cache.
    """
    import tempfile
    from pathlib import Path

    from libra_guard.atomic import write_file_atomic
    from libra_guard.demo import DemoConfig
    from libra_guard.demo import prepare_data as prepare
    from libra_guard.settings import Settings
    from libra_guard.tracking import runs

    ignored = {"train", "eval_mode", "eval_batch_size"}
    config = DemoConfig.model_validate({k: v for k, v in data_config.items() if k not in ignored})
    settings = Settings()
    outputs = {"stage1": stage1_data, "stage2": stage2_data, "test": test_data}
    with tempfile.TemporaryDirectory(prefix="prepare-data-") as work:
        prepared = prepare(config, Path(work), settings, print)
        for name, artifact in outputs.items():
            report = prepared.reports[name]
            write_file_atomic(artifact.path, Path(report.out_path).read_bytes())
            artifact.metadata.update(
                {"sha256": report.digest, "rows": report.kept, "quarantined": report.quarantined}
            )
        test_data.metadata["removed_overlap"] = prepared.removed_from_test
    # The run command exports the parent run's id; it is no parameter so that it stays out of
    # the cache key (a reused step logs nothing again).
    parent_run_id = settings.mlflow_parent_run_id
    if parent_run_id:
        run_id = runs.log_stage(
            parent_run_id,
            "prepare_data",
            params=config.model_dump(mode="json", exclude={"train"}),
            metrics={
                f"{name}_rows": artifact.metadata["rows"] for name, artifact in outputs.items()
            },
        )
        for name, artifact in outputs.items():
            context = "evaluation" if name == "test" else "training"
            runs.log_dataset_input(
                artifact.path, artifact.metadata["sha256"], name, context=context, run_id=run_id
            )
