"""``prepare_data``: synthesise (or read) the run's datasets, validate and digest each one.

The step is a pure function of its parameters, so the local runner's cache can reuse it: the
real-data file enters the cache key through ``source_fingerprint`` (its content hash), not
only through its path.
"""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Output

from components import COMPONENT_OPTIONS, PROJECT_IMAGE


@dsl.component(base_image=PROJECT_IMAGE, **COMPONENT_OPTIONS)
def prepare_data(
    data_config: dict,
    stage1_data: Output[Dataset],
    stage2_data: Output[Dataset],
    test_data: Output[Dataset],
    quarantine: Output[Artifact],
    source_fingerprint: str = "",
) -> None:
    """Write the stage-1, stage-2 and test datasets of one pipeline run.

    Every dataset is validated (bad rows quarantined and counted), deduplicated against
    training for the test set, and digested (sha256 of a canonical serialisation).

    Args:
        data_config: ``libra_guard.data.preparation.DataConfig`` fields (seed, stage1_rows,
            stage2_rows, test_rows_per_source, real_data, extra_real_data,
            real_test_fraction, teacher_config). Empty: the defaults.
        stage1_data: output JSONL of synthetic stage-1 rows; metadata ``sha256``, ``rows``,
            ``quarantined``.
        stage2_data: output JSONL of stage-2 rows (the "hard" synthetic flavour, or the
            training part of ``real_data``); same metadata.
        test_data: output JSONL of held-out rows, none of whose (question, response) pairs
            occurs in training; same metadata plus ``removed_overlap``.
        quarantine: output folder holding each dataset's quarantine file
            (``stage1.quarantine.jsonl``, ..., and ``real.quarantine.jsonl`` with real data:
            every rejected record with its line and reason); metadata: the count per file.
            Also logged to MLflow, with the counts as metrics.
        source_fingerprint: the sha256 of ``real_data``'s content (empty without real data);
            only part of the cache key, so a changed file is never served from the cache.
    """
    from libra_guard.data.preparation import DataConfig
    from libra_guard.settings import Settings
    from libra_guard.steps.prepare import log_prepared, prepare

    config = DataConfig.model_validate(data_config)
    settings = Settings()
    outputs = {"stage1": stage1_data, "stage2": stage2_data, "test": test_data}
    targets = {name: artifact.path for name, artifact in outputs.items()}
    prepared = prepare(config, targets, settings, quarantine_dir=quarantine.path)
    for name, artifact in outputs.items():
        facts = prepared.datasets[name]
        artifact.metadata.update(
            {"sha256": facts.sha256, "rows": facts.rows, "quarantined": facts.quarantined}
        )
    test_data.metadata["removed_overlap"] = prepared.removed_from_test
    quarantine.metadata.update(prepared.quarantined)
    # Each real source (feedback among them) and its digest: the lineage names them all.
    for artifact in (stage2_data, test_data):
        artifact.metadata["sources"] = dict(prepared.sources)
    # The parent run's id comes from the environment, not a parameter, so that it stays out
    # of the cache key (a reused step logs nothing again).
    if settings.mlflow_parent_run_id:
        log_prepared(settings.mlflow_parent_run_id, config, prepared, targets, quarantine.path)
