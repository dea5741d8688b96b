"""The teacher-synthesis config: which OpenAI-compatible endpoint plays which role, and the
knobs of each stage. Validated on load; unknown keys are refused so a typo never runs silently
with a default.

Roles (the paper's stage-1 recipe): a ``generator`` writes harmful queries from element
combinations, a ``rewriter`` (the generator when absent) augments them, two or more
``answerers`` answer every query, and exactly two ``judges`` label every answer in the Libra
answer format; only rows where both judges agree are kept.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from libra_guard.config_files import read_config_mapping
from libra_guard.errors import ConfigError

Augmentation = Literal["rewrite", "paraphrase", "red_team"]
ROLES = ("generator", "rewriter", "answerer", "judge")


class Sampling(BaseModel):
    """Chat-completions sampling parameters sent with every request of an endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=512, ge=1)


class Endpoint(BaseModel):
    """One model behind an OpenAI-compatible ``/chat/completions`` endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(min_length=1, description="e.g. http://vllm:8000/v1 (no /chat/...).")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the key; None: no key sent."
    )
    sampling: Sampling = Field(default_factory=Sampling)
    requests_per_second: float = Field(
        default=5.0, gt=0, description="Request starts per second, over all Ray workers."
    )
    concurrency: int = Field(default=1, ge=1, description="Ray Data workers for this endpoint.")
    max_in_flight: int = Field(default=4, ge=1, description="Open requests per worker.")
    timeout_s: float = Field(default=60.0, gt=0, description="Per-request read timeout.")
    max_retries: int = Field(default=4, ge=0, description="Retries on 408/409/429/5xx/timeouts.")
    max_backoff_s: float = Field(default=30.0, gt=0, description="Longest wait between tries.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url {value!r} must start with http:// or https://")
        return value.rstrip("/")

    @property
    def label(self) -> str:
        """How messages name this endpoint: model at URL."""
        return f"{self.model} at {self.base_url}"

    def api_key(self) -> str | None:
        """The key from ``api_key_env``.

        Raises:
            ConfigError: the variable is named but unset or empty (fails before any request).
        """
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise ConfigError(
                f"{self.label}: environment variable {self.api_key_env} (api_key_env) is unset; "
                "export the endpoint's key there"
            )
        return key


class NearDuplicates(BaseModel):
    """MinHash near-duplicate removal of queries (character shingles, Jaccard threshold)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(default=0.7, gt=0.0, lt=1.0, description="Estimated Jaccard.")
    num_perm: int = Field(default=128, ge=16, le=1024)
    shingle_chars: int = Field(default=3, ge=1, le=10)


class TeacherConfig(BaseModel):
    """Everything ``libra-guard data synth-llm`` needs besides N and the output path."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generator: Endpoint
    rewriter: Endpoint | None = Field(default=None, description="None: the generator rewrites.")
    answerers: list[Endpoint] = Field(min_length=2)
    judges: list[Endpoint] = Field(min_length=2, max_length=2)
    seed: int = 0
    queries_per_combination: int = Field(default=5, ge=1, le=50)
    augmentations: list[Augmentation] = Field(
        default_factory=lambda: ["rewrite", "paraphrase", "red_team"]
    )
    near_duplicates: NearDuplicates = Field(default_factory=NearDuplicates)
    batch_size: int = Field(default=16, ge=1, description="Rows per Ray Data batch.")
    source: str = Field(default="Teacher Synthetic", min_length=1)
    engine: Literal["ray", "local"] = Field(
        default="ray", description="ray: Ray Data map_batches; local: same code, in-process."
    )

    @model_validator(mode="after")
    def _distinct_roles(self) -> TeacherConfig:
        judges = {(j.base_url, j.model) for j in self.judges}
        if len(judges) != 2:
            raise ValueError("the two judges must be different models (base_url, model)")
        if len(set(self.augmentations)) != len(self.augmentations):
            raise ValueError("augmentations must not repeat")
        return self

    @property
    def rewriting_endpoint(self) -> Endpoint:
        return self.rewriter or self.generator

    def endpoints(self) -> dict[str, Endpoint]:
        """Every endpoint by its role name (``answerer[0]``, ``judge[1]``...)."""
        named = {"generator": self.generator, "rewriter": self.rewriting_endpoint}
        named.update({f"answerer[{i}]": e for i, e in enumerate(self.answerers)})
        named.update({f"judge[{i}]": e for i, e in enumerate(self.judges)})
        return named


def load_teacher_config(path: Path) -> TeacherConfig:
    """The teacher config from a YAML file.

    Raises:
        ConfigError: the file cannot be read or a value is invalid.
    """
    values = read_config_mapping(Path(path), "teacher config")
    try:
        return TeacherConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"invalid teacher config {path}: {exc}") from exc
