"""``pretrain_guard``: stage 1 of the curriculum (guard pretraining on synthetic rows) on Ray.

Work happens in a folder under the state dir named by a hash of the step's inputs, so a killed
run resumes the stage from its last Ray Train checkpoint instead of starting over; the
finished model is then copied into the output artifact under a temporary name and renamed.
With ``LIBRA_TRAINING_BACKEND=rayjob`` the stage runs as a KubeRay RayJob named by that hash
(``libra_guard.training.cluster_stage``); the step's inputs and outputs stay the same.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from components import COMPONENT_OPTIONS, PROJECT_IMAGE


@dsl.component(base_image=PROJECT_IMAGE, **COMPONENT_OPTIONS)
def pretrain_guard(
    stage1_data: Input[Dataset],
    stage2_data: Input[Dataset],
    train_config: dict,
    stage1_model: Output[Model],
    metrics: Output[Metrics],
    num_workers: int = 1,
    use_gpu: bool = False,
) -> None:
    """Build the base (for the tiny preset) and train stage 1 on the synthetic rows.

    Joins the Ray cluster in ``LIBRA_RAY_ADDRESS`` (the run command's shared local head, or
    the cluster's), else starts a local one; in cluster mode (``LIBRA_TRAINING_BACKEND=
    rayjob``) runs the stage as a RayJob and streams its log here.

    Args:
        stage1_data: JSONL of synthetic stage-1 rows (from ``prepare_data``).
        stage2_data: JSONL of stage-2 rows; read only to train the tiny preset's tokenizer on
            the whole corpus, as ``libra-guard train`` does.
        train_config: ``libra_guard.training.config.TrainConfig`` fields; empty: defaults.
        stage1_model: output folder with the stage-1 model and tokenizer
            (``libra_guard_stage.json`` records steps, loss, rate); metadata: the same figures,
            ``base_model`` and ``data_sha256``.
        metrics: output scalars ``steps``, ``final_loss``, ``samples_per_s``, ``seconds``.
        num_workers: Ray Train workers (data parallel).
        use_gpu: one GPU per worker.
    """
    import hashlib
    import json
    import shutil
    from pathlib import Path

    from libra_guard.atomic import staged_folder
    from libra_guard.data.io import read_rows
    from libra_guard.settings import Settings
    from libra_guard.tracking.stage_report import report_stage
    from libra_guard.training.cluster_stage import discard_stage_work, step_log, train_stage
    from libra_guard.training.config import TrainConfig
    from libra_guard.training.runner import prepare_base

    settings = Settings()
    config = TrainConfig.model_validate(
        {**train_config, "num_workers": num_workers, "use_gpu": use_gpu}
    )
    digests = {
        "stage1": stage1_data.metadata.get("sha256", ""),
        "stage2": stage2_data.metadata.get("sha256", ""),
    }
    key = hashlib.sha256(
        json.dumps(["stage1", config.model_dump(mode="json"), digests], sort_keys=True).encode()
    ).hexdigest()[:24]
    work = (settings.state_dir / "stage-work" / key).resolve()
    rows1 = read_rows(stage1_data.path)
    rows2 = read_rows(stage2_data.path)
    source = prepare_base(config, [*rows1, *rows2], work, step_log)
    outcome = train_stage("stage1", config, rows1, source, work, key=key, settings=settings)

    with staged_folder(Path(stage1_model.path)) as staging:
        shutil.copytree(outcome.model_dir, staging, dirs_exist_ok=True)
    discard_stage_work(work, key, settings)

    report_stage("pretrain_guard", outcome, config, stage1_model, metrics, digests)
