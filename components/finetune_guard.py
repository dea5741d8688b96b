"""``finetune_guard``: stage 2 of the curriculum (fine-tuning on real rows from stage 1's
weights) on Ray, published as the final model with its provenance.

Like ``pretrain_guard``, the work folder is named by a hash of the inputs so a killed run
resumes from the last checkpoint; the output artifact appears only complete.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from components import COMPONENT_OPTIONS, PROJECT_IMAGE


@dsl.component(base_image=PROJECT_IMAGE, **COMPONENT_OPTIONS)
def finetune_guard(
    stage1_model: Input[Model],
    stage2_data: Input[Dataset],
    train_config: dict,
    guard_model: Output[Model],
    metrics: Output[Metrics],
    num_workers: int = 1,
    use_gpu: bool = False,
) -> None:
    """Train stage 2 from the stage-1 weights and publish the final guard.

    Args:
        stage1_model: the stage-1 model folder (from ``pretrain_guard``).
        stage2_data: JSONL of stage-2 rows (from ``prepare_data``).
        train_config: ``libra_guard.training.config.TrainConfig`` fields; empty: defaults.
        guard_model: output folder with the final model, tokenizer and ``libra_guard.json``
            (base model, both stages' figures, data digests, config, library versions), which
            ``GuardJudge.load`` and ``from_pretrained`` load offline; metadata: stage-2
            figures, ``base_model`` and ``data_sha256``.
        metrics: output scalars ``steps``, ``final_loss``, ``samples_per_s``, ``seconds``.
        num_workers: Ray Train workers (data parallel).
        use_gpu: one GPU per worker.
    """
    import hashlib
    import json
    import os
    import shutil
    from pathlib import Path

    from libra_guard.data.io import read_rows
    from libra_guard.settings import Settings
    from libra_guard.tracking import runs
    from libra_guard.training.config import TrainConfig
    from libra_guard.training.runner import STAGE_INFO, StageOutcome, publish_final, run_stage

    settings = Settings()
    config = TrainConfig.model_validate(
        {**train_config, "num_workers": num_workers, "use_gpu": use_gpu}
    )
    digests = dict(stage1_model.metadata.get("data_sha256", {}))
    digests["stage2"] = stage2_data.metadata.get("sha256", digests.get("stage2", ""))
    key = hashlib.sha256(
        json.dumps(
            ["stage2", config.model_dump(mode="json"), digests, stage1_model.uri], sort_keys=True
        ).encode()
    ).hexdigest()[:24]
    work = (settings.state_dir / "stage-work" / key).resolve()
    stage1_info = json.loads((Path(stage1_model.path) / STAGE_INFO).read_text(encoding="utf-8"))
    stage1 = StageOutcome(**{**stage1_info, "model_dir": stage1_model.path})
    rows = read_rows(stage2_data.path)
    stage2 = run_stage(
        "stage2", config, rows, stage1_model.path, work, settings=settings, log=print
    )

    target = Path(guard_model.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    publish_final(config, (stage1, stage2), target, digests)
    shutil.rmtree(work, ignore_errors=True)

    figures = {
        "steps": stage2.steps,
        "final_loss": stage2.final_loss,
        "samples_per_s": stage2.samples_per_s,
        "seconds": stage2.seconds,
    }
    for name, value in figures.items():
        metrics.log_metric(name, value)
    # The figures travel as metadata; the file also makes the artifact exist on disk, which
    # the local runner's cache requires before it reuses this step.
    Path(metrics.path).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics.path).write_text(json.dumps(figures), encoding="utf-8")
    guard_model.metadata.update(
        {**figures, "method": stage2.method, "rows": stage2.rows, "base_model": config.base}
    )
    guard_model.metadata["data_sha256"] = digests
    parent_run_id = os.environ.get("LIBRA_MLFLOW_PARENT_RUN_ID", "")
    if parent_run_id:
        runs.log_stage(
            parent_run_id,
            "finetune_guard",
            params={**config.model_dump(mode="json"), "method": stage2.method, "rows": stage2.rows},
            metrics=figures,
            tags={"libra.model_uri": guard_model.uri},
        )
