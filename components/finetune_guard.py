"""``finetune_guard``: stage 2 of the curriculum (fine-tuning on real rows from stage 1's
weights) on Ray, published as the final model with its provenance.

Like ``pretrain_guard``, the work folder is named by a hash of the inputs so a killed run
resumes from the last checkpoint; the output artifact appears only complete. With
``LIBRA_TRAINING_BACKEND=rayjob`` the stage runs as a KubeRay RayJob.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from components import COMPONENT_OPTIONS, PROJECT_IMAGE


@dsl.component(base_image=PROJECT_IMAGE, **COMPONENT_OPTIONS)
def finetune_guard(
    stage1_model: Input[Model],
    stage1_data: Input[Dataset],
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
        stage1_data: JSONL of stage-1 rows (from ``prepare_data``); a ``stage2_replay``
            share of them is mixed into stage 2 so it does not forget stage 1 (0: none), and
            with ``stage2_validation`` some of them check that it did not.
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
    from libra_guard.settings import Settings
    from libra_guard.steps.train import finetune
    from libra_guard.tracking.stage_report import report_stage
    from libra_guard.training.config import TrainConfig

    config = TrainConfig.model_validate(
        {**train_config, "num_workers": num_workers, "use_gpu": use_gpu}
    )
    digests = dict(stage1_model.metadata.get("data_sha256", {}))
    digests["stage2"] = stage2_data.metadata.get("sha256", digests.get("stage2", ""))
    stage2 = finetune(
        config,
        stage1_data.path,
        stage2_data.path,
        stage1_model.path,
        stage1_model.uri,
        digests,
        guard_model.path,
        Settings(),
    )
    report_stage("finetune_guard", stage2, config, guard_model, metrics, digests)
