"""The Libra-Guard DAG: prepare data -> stage 1 -> stage 2 -> evaluate -> gate -> register
(pass) or record the rejection (fail).

KFP accepts only constants for a task's image, resources, accelerator and Kubernetes env
wiring, so ``build_pipeline(options)`` returns a ``@dsl.pipeline`` with those baked in; the
checked-in ``libra_guard_pipeline.yaml`` is ``build_pipeline()`` with the defaults
(``libra-guard compile`` rewrites it; a test fails when it drifts). Everything else is a
pipeline argument of one run.

Whether training runs in the step's pod or as a KubeRay RayJob is not compiled in: the tasks
read ``training_backend`` from the ConfigMap (``LIBRA_TRAINING_BACKEND``), so one compiled
pipeline serves both; the training tasks also get ``LIBRA_RAYJOB_PODS`` (image, wiring and
resources for the RayJob's pods).

Usage::

    libra-guard compile                      # pipelines/libra_guard_pipeline.yaml
    libra-guard run                          # the KFP local runner, this machine
    libra-guard submit --host http://localhost:8080 --wait
"""

import tempfile
from pathlib import Path

from kfp import compiler, dsl, kubernetes
from kfp.dsl import Markdown
from kfp.dsl.pipeline_task import PipelineTask

from components import with_image
from components.deploy_guard import deploy_guard
from components.evaluate_guard import evaluate_guard
from components.finetune_guard import finetune_guard
from components.gate import gate
from components.prepare_data import prepare_data
from components.pretrain_guard import pretrain_guard
from components.record_rejection import record_rejection
from components.register_guard import register_guard
from libra_guard.atomic import write_file_atomic
from libra_guard.kube.ray_dashboard import RAY_TOKEN_ENV
from libra_guard.kube.rayjob import PLATFORM_CLIENT_LABEL
from libra_guard.kube.wiring import RAY_TOKEN_SECRET_KEY, RAYJOB_PODS_ENV
from pipelines.config import DEFAULT_EXPERIMENT, PipelineOptions

PIPELINE_NAME = "libra-guard"
#: Pods the guard's NetworkPolicy admits to its serve port (libra-guard chart,
#: networkPolicy.clients).
GUARD_CLIENT_LABEL = "libra-guard.io/client"
#: The pipeline's own pods: the only ones the platform admits to the RayJobs' dashboards.
PIPELINE_POD_LABEL = "libra-guard.io/pipeline"
COMPILED_YAML = Path(__file__).with_name("libra_guard_pipeline.yaml")


def build_pipeline(options: PipelineOptions | None = None):
    """The pipeline with ``options`` (image, resources, GPU, cluster wiring) baked in."""
    options = options or PipelineOptions()
    steps = {
        component.name: with_image(component, options.image)
        for component in (
            prepare_data,
            pretrain_guard,
            finetune_guard,
            evaluate_guard,
            gate,
            register_guard,
            deploy_guard,
            record_rejection,
        )
    }

    def configured(
        task: PipelineTask, *, training: bool = False, serves: bool = False
    ) -> PipelineTask:
        if training:
            resources = options.resources
            task.set_cpu_request(resources.cpu_request).set_memory_request(
                resources.memory_request
            ).set_cpu_limit(resources.cpu_limit).set_memory_limit(resources.memory_limit)
            # In cluster mode the training task only follows its RayJob, whose workers each
            # request their own GPU: a GPU here would be booked twice and sit idle.
            if options.use_gpu and (options.cluster is None or options.gpu_in_task):
                task.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(1)
        pods = options.rayjob_pods()
        if training and pods is not None:
            # In cluster mode the step creates a RayJob whose pods need the same image, wiring
            # and resources; compile-time values, so they travel as one env variable.
            task.set_env_variable(RAYJOB_PODS_ENV, pods.to_env_value())
        if options.cluster is not None:
            wiring = options.cluster
            # The platform's NetworkPolicies admit pods with this label to MLflow, MinIO and
            # the RayJobs' dashboards; the rollout step also needs the guard's serve port.
            kubernetes.add_pod_label(task, PLATFORM_CLIENT_LABEL, "true")
            kubernetes.add_pod_label(task, PIPELINE_POD_LABEL, "true")
            if serves:
                kubernetes.add_pod_label(task, GUARD_CLIENT_LABEL, "true")
            if training and wiring.ray_token_secret_name:
                # The RayJob clusters require this token (RAY_AUTH_MODE=token); the follower
                # sends it to their dashboards.
                kubernetes.use_secret_as_env(
                    task,
                    wiring.ray_token_secret_name,
                    {RAY_TOKEN_SECRET_KEY: RAY_TOKEN_ENV},
                    optional=True,
                )
            if wiring.secret_name:
                kubernetes.use_secret_as_env(task, wiring.secret_name, dict(wiring.secret_env))
            if wiring.mlflow_auth_secret_name:
                # Every step reads or writes MLflow, whose basic-auth app refuses anonymous calls.
                kubernetes.use_secret_as_env(
                    task, wiring.mlflow_auth_secret_name, dict(wiring.mlflow_auth_env)
                )
            if wiring.config_map_name:
                # Optional: a key the ConfigMap leaves out keeps that setting's default.
                kubernetes.use_config_map_as_env(
                    task, wiring.config_map_name, dict(wiring.config_map_env), optional=True
                )
            if serves and wiring.api_key_secret_name:
                # Optional: a guard without a key (auth off) is called without one.
                kubernetes.use_secret_as_env(
                    task,
                    wiring.api_key_secret_name,
                    {wiring.api_key_secret_key: "LIBRA_API_KEY"},
                    optional=True,
                )
        return task

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description=(
            "Two-stage Libra-Guard training on Ray, Libra-Test evaluation, a promotion gate "
            "against the champion, registration in MLflow and a gated rollout on Ray Serve."
        ),
    )
    def libra_guard_pipeline(
        data_config: dict = {},  # noqa: B006 - KFP reads defaults from the signature
        train_config: dict = {},  # noqa: B006
        gate_thresholds: dict = {},  # noqa: B006
        num_workers: int = 1,
        use_gpu: bool = options.use_gpu,
        eval_mode: str = "verdict",
        eval_batch_size: int = 16,
        experiment: str = DEFAULT_EXPERIMENT,
        parent_run_id: str = "",
        source_fingerprint: str = "",
        git_commit: str = "",
        serving_config: dict = {},  # noqa: B006
        http_port: int = 8000,
        smoke_margin: float = 0.05,
    ) -> Markdown:
        data = configured(
            steps["prepare-data"](data_config=data_config, source_fingerprint=source_fingerprint)
        ).set_display_name("prepare data")
        stage1 = configured(
            steps["pretrain-guard"](
                stage1_data=data.outputs["stage1_data"],
                stage2_data=data.outputs["stage2_data"],
                train_config=train_config,
                num_workers=num_workers,
                use_gpu=use_gpu,
            ),
            training=True,
        ).set_display_name("stage 1: guard pretraining")
        stage2 = configured(
            steps["finetune-guard"](
                stage1_model=stage1.outputs["stage1_model"],
                stage1_data=data.outputs["stage1_data"],
                stage2_data=data.outputs["stage2_data"],
                train_config=train_config,
                num_workers=num_workers,
                use_gpu=use_gpu,
            ),
            training=True,
        ).set_display_name("stage 2: fine-tuning")
        evaluation = configured(
            steps["evaluate-guard"](
                guard_model=stage2.outputs["guard_model"],
                test_data=data.outputs["test_data"],
                eval_mode=eval_mode,
                eval_batch_size=eval_batch_size,
            )
        ).set_display_name("evaluate")
        # The champion changes between runs: the gate and what follows it never come from
        # the cache.
        verdict = configured(
            steps["gate"](
                test_data=data.outputs["test_data"],
                evaluation=evaluation.outputs["evaluation"],
                gate_thresholds=gate_thresholds,
                experiment=experiment,
                parent_run_id=parent_run_id,
                pipeline_run=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
                eval_mode=eval_mode,
                eval_batch_size=eval_batch_size,
            )
        ).set_caching_options(enable_caching=False)
        with dsl.If(verdict.outputs["passed"] == True, name="gate-passed"):  # noqa: E712
            registered = configured(
                steps["register-guard"](
                    guard_model=stage2.outputs["guard_model"],
                    test_data=data.outputs["test_data"],
                    decision=verdict.outputs["decision"],
                    parent_run_id=verdict.outputs["parent_run_id"],
                    pipeline_run=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
                    git_commit=git_commit,
                )
            ).set_caching_options(enable_caching=False)
            # champion moves only once the new version serves, so it always names what serves.
            configured(
                steps["deploy-guard"](
                    version=registered.outputs["version"],
                    test_data=data.outputs["test_data"],
                    evaluation=evaluation.outputs["evaluation"],
                    serving_config=serving_config,
                    http_port=http_port,
                    smoke_margin=smoke_margin,
                    parent_run_id=verdict.outputs["parent_run_id"],
                ),
                serves=True,
            ).set_caching_options(enable_caching=False).set_display_name("roll out on Ray Serve")
        with dsl.Else(name="gate-failed"):
            configured(
                steps["record-rejection"](
                    decision=verdict.outputs["decision"],
                    parent_run_id=verdict.outputs["parent_run_id"],
                )
            ).set_caching_options(enable_caching=False)
        return verdict.outputs["report"]

    return libra_guard_pipeline


def compile_pipeline(out: Path = COMPILED_YAML, options: PipelineOptions | None = None) -> Path:
    """Compile the pipeline to IR YAML at ``out`` (written atomically) and return the path."""
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="libra-compile-") as work:
        compiled = Path(work) / out.name
        compiler.Compiler().compile(build_pipeline(options), str(compiled))
        return write_file_atomic(out, compiled.read_bytes())
