"""The pipeline's configuration, typed and validated on load from YAML.

Two kinds of values, kept apart because KFP treats them differently:

- run-time values (data sizes, training and evaluation settings, gate thresholds, the MLflow
  experiment) stay typed (``DataConfig``, ``TrainConfig``, ``EvalConfig``,
  ``GateThresholds``, the same parts ``libra-guard demo`` composes) until
  ``arguments()`` dumps them into the pipeline ARGUMENTS of one run, the KFP boundary;
- compile-time values (image, resources of the training tasks, GPU, the Kubernetes Secret and
  ConfigMap that carry endpoints and credentials) are baked into the compiled pipeline,
  because KFP accepts only constants there (``PipelineOptions``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from components import PROJECT_IMAGE
from libra_guard.config_files import read_config_mapping
from libra_guard.data.preparation import DataConfig
from libra_guard.demo import refuse_flat_layout
from libra_guard.errors import ConfigError
from libra_guard.evaluation.config import EvalConfig
from libra_guard.kube.wiring import EnvWiring, PodResources, RayJobPods
from libra_guard.promotion.gate import GateThresholds
from libra_guard.training.config import TrainConfig

#: The experiment every pipeline run logs to unless the config names another.
DEFAULT_EXPERIMENT = "libra-guard"
#: The pipeline's ServiceAccount in the cluster (libra-platform chart,
#: ``pipeline.serviceAccount.name``): its Role lets the steps run RayJobs and roll the
#: RayService.
DEFAULT_SERVICE_ACCOUNT = "libra-pipeline"


class TaskResources(PodResources):
    """Kubernetes requests and limits of each training task (Kubernetes quantity strings); in
    cluster mode (``training_backend: rayjob``) also of each RayJob training worker's pod."""


class ClusterWiring(EnvWiring):
    """How configuration reaches cluster tasks: a Secret (credentials) and a ConfigMap
    (endpoints and modes: ``training_backend``, ``artifact_root``, ...), each mapped key ->
    environment variable. An empty name leaves it out. A training RayJob's pods read the same
    objects (``libra_guard.kube.wiring``)."""


class ServingStep(BaseModel):
    """How ``deploy_guard`` serves the new version (``serving.config.ServingConfig`` fields in
    ``config``; the port of the guard API)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    config: dict = Field(default_factory=dict)
    http_port: int = Field(default=8000, ge=1, le=65535)
    smoke_margin: float = Field(
        default=0.05, ge=0.0, lt=0.5, description="Skip smoke rows this close to the threshold."
    )


class PipelineOptions(BaseModel):
    """Compile-time options of ``build_pipeline``; the checked-in YAML uses the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: str = PROJECT_IMAGE
    use_gpu: bool = Field(default=False, description="Request one nvidia.com/gpu per task.")
    gpu_in_task: bool = Field(
        default=False,
        description="With cluster wiring, also request the GPU on the training task itself "
        "(training_backend local in the cluster). Off: the RayJob's workers request theirs.",
    )
    resources: TaskResources = Field(default_factory=TaskResources)
    cluster: ClusterWiring | None = Field(
        default_factory=ClusterWiring, description="None: no Kubernetes env wiring (local)."
    )

    def rayjob_pods(self) -> RayJobPods | None:
        """What the training tasks tell their RayJobs (image, wiring, worker resources);
        ``None`` without cluster wiring."""
        if self.cluster is None:
            return None
        return RayJobPods(
            image=self.image,
            wiring=EnvWiring.model_validate(self.cluster.model_dump()),
            worker=PodResources.model_validate(self.resources.model_dump()),
        )


class PipelineConfig(BaseModel):
    """Everything ``libra-guard run`` and ``submit`` need; every field has a demo default."""

    model_config = ConfigDict(extra="forbid")

    experiment: str = Field(default=DEFAULT_EXPERIMENT, min_length=1)
    data: DataConfig = Field(default_factory=DataConfig, description="Which data, how much.")
    train: TrainConfig = Field(default_factory=TrainConfig, description="Both stages' training.")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="How the model is scored.")
    gate: GateThresholds = Field(
        default_factory=GateThresholds, description="The gate's thresholds and test level."
    )
    image: str = PROJECT_IMAGE
    resources: TaskResources = Field(default_factory=TaskResources)
    cluster: ClusterWiring = Field(default_factory=ClusterWiring)
    service_account: str = Field(
        default=DEFAULT_SERVICE_ACCOUNT,
        description="ServiceAccount of a submitted run's pods; empty: the KFP default.",
    )
    serving: ServingStep = Field(default_factory=ServingStep)

    @model_validator(mode="before")
    @classmethod
    def _refuse_old_layout(cls, values: object) -> object:
        """The ``demo:`` block of older configs was split into ``data:``, ``train:`` and
        ``eval:``; say so rather than pydantic's bare "extra inputs are not permitted"."""
        if isinstance(values, dict):
            if "demo" in values:
                raise ValueError(
                    "the demo: block was split into top-level data:, train: and eval: blocks "
                    "(demo.train -> train, demo.<data setting> -> data.<setting>, "
                    "demo.eval_mode -> eval.mode, demo.eval_batch_size -> eval.batch_size)"
                )
            refuse_flat_layout(values)
        return values

    def with_overrides(self, **values: object) -> PipelineConfig:
        """A copy with the given fields replaced (``None`` values skipped), validated.

        Raises:
            ConfigError: a value is invalid.
        """
        given = {name: value for name, value in values.items() if value is not None}
        try:
            return PipelineConfig.model_validate({**self.model_dump(), **given})
        except ValidationError as exc:
            raise ConfigError(f"invalid pipeline option: {exc}") from exc

    def options(self, *, cluster: bool = True) -> PipelineOptions:
        """The compile-time options; ``cluster=False`` drops the Kubernetes env wiring."""
        return PipelineOptions(
            image=self.image,
            use_gpu=self.train.use_gpu,
            resources=self.resources,
            cluster=self.cluster if cluster else None,
        )

    def arguments(self) -> dict:
        """The pipeline arguments of one run (everything but the MLflow parent run)."""
        train = self.train
        return {
            "data_config": self.data.model_dump(mode="json", exclude_none=True),
            "train_config": train.model_dump(
                mode="json", exclude={"num_workers", "use_gpu"}, exclude_none=True
            ),
            "num_workers": train.num_workers,
            "use_gpu": train.use_gpu,
            "eval_mode": self.eval.mode,
            "eval_batch_size": self.eval.batch_size,
            "gate_thresholds": self.gate.model_dump(mode="json", exclude_unset=True),
            "experiment": self.experiment,
            "source_fingerprint": self.source_fingerprint(),
            "serving_config": dict(self.serving.config),
            "http_port": self.serving.http_port,
            "smoke_margin": self.serving.smoke_margin,
        }

    def source_fingerprint(self) -> str:
        """sha256 of the real-data file's bytes (empty without one or for remote URIs), mixed
        with the extra real sources' and the teacher config's when there are any: part of
        ``prepare_data``'s cache key, so an edited file is never served stale."""
        real = self.data.real_data
        fingerprint = _file_sha256(real, "real_data") if real and "://" not in real else ""
        extras = [
            _file_sha256(uri, "extra_real_data")
            for uri in self.data.extra_real_data
            if "://" not in uri
        ]
        if extras:
            mixed = "+".join([fingerprint, *extras])
            fingerprint = hashlib.sha256(mixed.encode("ascii")).hexdigest()
        teacher = self.data.teacher_config
        if teacher:
            mixed = f"{fingerprint}+{_file_sha256(teacher, 'teacher_config')}"
            fingerprint = hashlib.sha256(mixed.encode("ascii")).hexdigest()
        return fingerprint


def _file_sha256(name: str, field: str) -> str:
    path = Path(name)
    if not path.is_file():
        raise ConfigError(f"{field} {name} is not a file; fix data.{field} in the config")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_pipeline_config(path: Path | None = None) -> PipelineConfig:
    """The pipeline config from a YAML file (its ``settings:`` block is ``load_settings``'s).

    Raises:
        ConfigError: the file cannot be read or a value is invalid.
    """
    values = read_config_mapping(path, "pipeline config")
    try:
        return PipelineConfig.model_validate(values)
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        raise ConfigError(f"invalid pipeline config{where}: {exc}") from exc
