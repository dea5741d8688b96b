"""How configuration reaches pods in the cluster: Secrets and one ConfigMap, key -> env.

The pipeline's tasks get their ``LIBRA_*`` settings this way (``kfp-kubernetes`` wiring, see
``pipelines/config.py``), and the pods of a training RayJob get theirs from the very same
objects, as ``valueFrom`` references: credentials never appear in a manifest, and a rotated
Secret reaches the next RayJob without recompiling anything.

``RayJobPods`` is what a training step needs to know about the RayJob pods it creates (image,
wiring, resources). These are compile-time choices of the pipeline, so the pipeline hands them
to its training tasks as one JSON environment variable (``LIBRA_RAYJOB_PODS``); without it
(a step run by hand) the defaults below apply.
"""

from __future__ import annotations

import json
import os

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from libra_guard.errors import ConfigError

#: Environment variable carrying a ``RayJobPods`` as JSON into a training task.
RAYJOB_PODS_ENV = "LIBRA_RAYJOB_PODS"
#: Key of the token in a Ray token Secret (KubeRay's ``RAY_AUTH_TOKEN_SECRET_KEY``,
#: ``ray-operator/controllers/ray/utils/constant.go``).
RAY_TOKEN_SECRET_KEY = "auth_token"


def _default_secret_env() -> dict[str, str]:
    return {"s3_access_key": "LIBRA_S3_ACCESS_KEY", "s3_secret_key": "LIBRA_S3_SECRET_KEY"}


def _default_mlflow_auth_env() -> dict[str, str]:
    # MLflow's client sends these as HTTP basic auth (mlflow.environment_variables).
    return {"username": "MLFLOW_TRACKING_USERNAME", "password": "MLFLOW_TRACKING_PASSWORD"}


def _default_config_map_env() -> dict[str, str]:
    return {
        "s3_endpoint": "LIBRA_S3_ENDPOINT",
        "mlflow_tracking_uri": "MLFLOW_TRACKING_URI",
        "ray_address": "LIBRA_RAY_ADDRESS",
        "training_backend": "LIBRA_TRAINING_BACKEND",
        "serving_backend": "LIBRA_SERVING_BACKEND",
        "kube_namespace": "LIBRA_KUBE_NAMESPACE",
        "artifact_root": "LIBRA_ARTIFACT_ROOT",
        "rayjob_image": "LIBRA_RAYJOB_IMAGE",
        "rayservice_name": "LIBRA_RAYSERVICE_NAME",
        "guard_url": "LIBRA_GUARD_URL",
    }


class EnvWiring(BaseModel):
    """Secrets (S3 and MLflow credentials) and a ConfigMap (endpoints, modes), each mapped
    key -> env variable. An empty name leaves that object out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_name: str = "libra-guard-credentials"
    secret_env: dict[str, str] = Field(default_factory=_default_secret_env)
    config_map_name: str = "libra-guard-config"
    config_map_env: dict[str, str] = Field(default_factory=_default_config_map_env)
    api_key_secret_name: str = Field(
        default="libra-guard-api-key",
        description="The guard API's key Secret (the libra-guard chart's, release libra-guard); "
        "the rollout step calls the API with it. Empty: no key is sent.",
    )
    api_key_secret_key: str = "api-key"
    mlflow_auth_secret_name: str = Field(
        default="libra-mlflow-auth",
        description="The Secret of the platform's MLflow user (libra-platform chart, "
        "mlflow.auth): MLflow's basic-auth app refuses anonymous calls. Empty: none is sent.",
    )
    mlflow_auth_env: dict[str, str] = Field(default_factory=_default_mlflow_auth_env)
    ray_token_secret_name: str = Field(
        default="libra-ray-token",
        description="The Secret (key auth_token, KubeRay's RAY_AUTH_TOKEN_SECRET_KEY) whose "
        "token every training RayJob cluster requires (RAY_AUTH_MODE=token) and the training "
        "steps send to its dashboard (libra-platform chart). Empty: token auth off.",
    )

    def env_refs(self, *, leave_out: frozenset[str] = frozenset()) -> list[dict]:
        """Kubernetes ``EnvVar`` objects that read each mapped key from its object, except
        the variables in ``leave_out``. References are ``optional``: a key the object lacks
        leaves the variable unset (the setting's default) instead of blocking the pod."""
        env: list[dict] = []
        sources = (
            ("secretKeyRef", self.secret_name, self.secret_env),
            ("secretKeyRef", self.mlflow_auth_secret_name, self.mlflow_auth_env),
            ("configMapKeyRef", self.config_map_name, self.config_map_env),
        )
        for ref_kind, object_name, mapping in sources:
            if not object_name:
                continue
            for key, variable in sorted(mapping.items(), key=lambda item: item[1]):
                if variable in leave_out:
                    continue
                env.append(
                    {
                        "name": variable,
                        "valueFrom": {
                            ref_kind: {"name": object_name, "key": key, "optional": True}
                        },
                    }
                )
        return env


class PodResources(BaseModel):
    """Requests and limits of one pod's container (Kubernetes quantity strings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_request: str = "2"
    memory_request: str = "8G"
    cpu_limit: str = "4"
    memory_limit: str = "16G"


def _head_resources() -> PodResources:
    # The head runs the job's driver (it downloads and uploads the model) and the dashboard,
    # no training: one CPU and a few GiB carry a 14B LoRA checkpoint through.
    return PodResources(cpu_request="500m", memory_request="2G", cpu_limit="1", memory_limit="4G")


class RayJobPods(BaseModel):
    """What a training step needs to build its RayJob's pods."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: str | None = Field(
        default=None, description="The pipeline's image; LIBRA_RAYJOB_IMAGE overrides it."
    )
    wiring: EnvWiring = Field(default_factory=EnvWiring)
    worker: PodResources = Field(
        default_factory=PodResources, description="Each Ray Train worker's pod."
    )
    head: PodResources = Field(default_factory=_head_resources)

    def to_env_value(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_env(cls) -> RayJobPods:
        """The pipeline's choice from ``LIBRA_RAYJOB_PODS``, else the defaults.

        Raises:
            ConfigError: the variable is set but is not a valid ``RayJobPods`` JSON.
        """
        raw = os.environ.get(RAYJOB_PODS_ENV, "").strip()
        if not raw:
            return cls()
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise ConfigError(
                f"{RAYJOB_PODS_ENV} is not a valid RayJob pod config (recompile the pipeline "
                f"with `libra-guard compile`): {exc}"
            ) from exc
