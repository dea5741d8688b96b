"""One settings object, read from the environment (``LIBRA_*``) and an optional YAML file.

The mode (embedded default or cluster) is configuration, never a code branch on "is this a
test": unset endpoints mean local engines and local folders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from libra_guard.errors import ConfigError


class Settings(BaseSettings):
    """Where state lives and which engines to join."""

    model_config = SettingsConfigDict(env_prefix="LIBRA_", extra="ignore")

    state_dir: Path = Field(
        default=Path(".libra"),
        description="Folder for local state: Ray storage, MLflow SQLite file, demo outputs.",
    )
    ray_address: str | None = Field(
        default=None, description="Ray cluster to join; unset starts or reuses a local head."
    )
    s3_endpoint: str | None = Field(
        default=None, description="MinIO/S3 endpoint URL for s3:// URIs, e.g. http://minio:9000."
    )
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = Field(
        default=None,
        description="Kept as a SecretStr: shown as '**********' in reprs, logs and dumps.",
    )
    s3_secure: bool = Field(default=False, description="Use TLS to reach the S3 endpoint.")
    mlflow_tracking_uri: str | None = Field(
        default=None, description="Defaults to a SQLite file under state_dir."
    )
    mlflow_parent_run_id: str | None = Field(
        default=None,
        description="The pipeline run's MLflow parent run; steps log their nested runs under "
        "it. Set by `libra-guard run` for its step processes; an environment variable, not a "
        "step parameter, so that it stays out of the step cache key.",
    )
    # -- cluster mode (Kubernetes); the defaults keep everything on this machine ----------
    training_backend: Literal["local", "rayjob"] = Field(
        default="local",
        description="local: Ray Train on the Ray head of ray_address (or a local one); "
        "rayjob: each training stage runs as a KubeRay RayJob.",
    )
    serving_backend: Literal["local", "rayservice"] = Field(
        default="local",
        description="local: Ray Serve on the Ray head of ray_address (or a temporary one); "
        "rayservice: roll out by patching the KubeRay RayService rayservice_name.",
    )
    kube_namespace: str | None = Field(
        default=None,
        description="Namespace of RayJobs and the RayService; unset: the pod's own namespace "
        "in a cluster, else the kubeconfig context's.",
    )
    artifact_root: str | None = Field(
        default=None,
        description="s3:// prefix (MinIO) where cluster-mode stages keep inputs, checkpoints "
        "and models, e.g. s3://libra-artifacts; RayJobs read and write there.",
    )
    rayjob_image: str | None = Field(
        default=None, description="Image of RayJob clusters; unset: the project image."
    )
    rayjob_timeout_s: int = Field(
        default=6 * 3600, ge=1, description="A RayJob running longer fails its step."
    )
    rayservice_name: str = Field(default="libra-guard", description="The guard's RayService.")
    guard_url: str | None = Field(
        default=None,
        description="Base URL of the guard API in the cluster (rollout checks /v1/model there).",
    )

    @property
    def tracking_uri(self) -> str:
        uri = os.environ.get("MLFLOW_TRACKING_URI") or self.mlflow_tracking_uri
        return uri or f"sqlite:///{(self.state_dir / 'mlflow.db').resolve()}"

    def storage_options(self) -> dict:
        """fsspec/s3fs options for ``s3://`` URIs (MinIO); empty means AWS defaults."""
        options: dict = {}
        if self.s3_access_key:
            options["key"] = self.s3_access_key
        if self.s3_secret_key and self.s3_secret_key.get_secret_value():
            options["secret"] = self.s3_secret_key.get_secret_value()
        if self.s3_endpoint:
            options["client_kwargs"] = {"endpoint_url": self.s3_endpoint}
        return options


def load_settings(config_file: Path | None = None) -> Settings:
    """Settings from the environment, overlaid on an optional YAML file's ``settings:`` block."""
    values: dict = {}
    if config_file is not None:
        try:
            loaded = yaml.safe_load(Path(config_file).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc}") from exc
        values = loaded.get("settings", {}) if isinstance(loaded, dict) else {}
    env_values = Settings().model_dump(exclude_unset=True)
    return Settings(**{**values, **env_values})
