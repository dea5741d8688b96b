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
    from libra_guard.settings import Settings
    from libra_guard.steps.train import pretrain
    from libra_guard.tracking.stage_report import report_stage
    from libra_guard.training.config import TrainConfig

    config = TrainConfig.model_validate(
        {**train_config, "num_workers": num_workers, "use_gpu": use_gpu}
    )
    digests = {
        "stage1": stage1_data.metadata.get("sha256", ""),
        "stage2": stage2_data.metadata.get("sha256", ""),
    }
    outcome = pretrain(
        config, stage1_data.path, stage2_data.path, digests, stage1_model.path, Settings()
    )
    report_stage("pretrain_guard", outcome, config, stage1_model, metrics, digests)
