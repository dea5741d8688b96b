"""One settings object, read from the environment (``LIBRA_*``) and an optional YAML file.

The mode (embedded default or cluster) is configuration, never a code branch on "is this a
test": unset endpoints mean local engines and local folders.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import Field
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
    s3_secret_key: str | None = None
    s3_secure: bool = Field(default=False, description="Use TLS to reach the S3 endpoint.")
    mlflow_tracking_uri: str | None = Field(
        default=None, description="Defaults to a SQLite file under state_dir."
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
        if self.s3_secret_key:
            options["secret"] = self.s3_secret_key
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
