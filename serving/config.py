"""``ServingConfig``: every limit and knob of the guard service, validated on load.

One object travels to every part of the service (the ingress, the model replicas, the plain
baseline) as a plain dict inside the Serve config, so what runs is exactly what the config
file says. Units are in the names (``_s`` seconds, ``_chars`` characters, ``_bytes`` bytes).

Usage::

    config = ServingConfig()                                  # the defaults
    config = load_serving_config(Path("serving/serve_config.yaml"))
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from libra_guard.errors import ConfigError
from libra_guard.lifecycle.capture import CaptureConfig

#: Batches one ingress replica keeps in flight to the model (``app.ServeBackend``): the model's
#: ongoing plus queued calls must hold them, or a burst is refused while the model has room.
INGRESS_BATCHES_IN_FLIGHT = 8
#: The model deployment's request router (``serving.stream_router``), named here so the config
#: never imports Ray.
STREAM_ROUTER_PATH = "serving.stream_router.StreamAffinityRouter"


class AutoscalingSettings(BaseModel):
    """Ray Serve autoscaling of the model replicas (``autoscaling_config``)."""

    model_config = ConfigDict(extra="forbid")

    min_replicas: int = Field(default=1, ge=0, description="Replicas kept when idle.")
    max_replicas: int = Field(default=4, ge=1, description="Upper bound on replicas.")
    target_ongoing_requests: float = Field(
        default=8.0, gt=0, description="Ongoing requests per replica the autoscaler aims at."
    )
    upscale_delay_s: float = Field(default=10.0, ge=0)
    downscale_delay_s: float = Field(default=120.0, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingSettings:
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) is below min_replicas ({self.min_replicas})"
            )
        return self


class ServingConfig(BaseModel):
    """Limits of the HTTP API, batching, concurrency and queue bounds, replica resources."""

    model_config = ConfigDict(extra="forbid")

    # Request limits: anything over them is answered 413 with the limit named.
    max_items: int = Field(default=32, ge=1, description="Items in one moderation request.")
    max_windows: int = Field(
        default=48,
        ge=1,
        description="Windows one question/response may take; with the model's window it sets "
        "the character limit at load time (413 above).",
    )
    max_chars: int | None = Field(
        default=None,
        ge=1,
        description="A further cap on characters per question/response; unset: the model's.",
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="Size of one request body."
    )
    # Verdicts.
    threshold: float = Field(
        default=0.5, gt=0, lt=1, description="P(不安全) at or above which the verdict is unsafe."
    )
    level_policy: Literal["strict", "loose"] = Field(
        default="strict",
        description="Verdict for the controversial band when a request names no policy: "
        "strict (unsafe, fail closed) or loose (safe).",
    )
    explain_max_new_tokens: int = Field(
        default=256, ge=1, le=4096, description="Critique length limit (the paper uses 256)."
    )
    # Batching in the ingress, where requests arrive: a request's items are cut into chunks
    # of at most ``batch_max_size``; concurrent chunks are gathered into one call to a model
    # replica, which scores it in passes grouped by length.
    batching: bool = Field(default=True, description="Dynamic batching across requests.")
    batch_max_size: int = Field(default=16, ge=1, description="Items per forward pass.")
    batch_wait_timeout_s: float = Field(
        default=0.01, ge=0, description="How long a batch waits to fill."
    )
    batch_max_tokens: int = Field(
        default=4096,
        ge=64,
        description="Padded tokens per forward pass (pairs times the longest, counted in "
        "characters); a batch is sorted by length and cut into passes within it.",
    )
    # Concurrency and queue bounds. A call over the queue bound is refused at once: the
    # client gets 503 with Retry-After instead of a queue that grows without end.
    model_max_ongoing_requests: int = Field(default=32, ge=1)
    model_max_queued_requests: int = Field(default=64, ge=1)
    api_max_ongoing_requests: int = Field(default=128, ge=1)
    api_max_queued_requests: int = Field(default=256, ge=1)
    retry_after_s: float = Field(default=1.0, ge=0, description="Retry-After sent with a 503.")
    # Replicas and resources.
    num_replicas: int = Field(default=1, ge=1, description="Model replicas without autoscaling.")
    autoscaling: AutoscalingSettings | None = Field(
        default=None, description="Autoscale the model replicas; unset: num_replicas fixed."
    )
    model_num_cpus: float = Field(default=1.0, ge=0, description="CPUs reserved per replica.")
    model_num_gpus: float = Field(default=0.0, ge=0, description="GPUs reserved per replica.")
    api_num_cpus: float = Field(
        default=0.0, ge=0, description="The ingress only parses and awaits; it needs no core."
    )
    torch_threads: int | None = Field(
        default=None, ge=1, description="torch intra-op threads per replica; unset: torch's."
    )
    constructor_retries: int = Field(
        default=3, ge=1, description="Tries to start a replica before the version is failed."
    )
    health_check_period_s: float = Field(default=10.0, gt=0)
    # Auth, health and time bounds.
    auth_required: bool | None = Field(
        default=None,
        description="Require LIBRA_API_KEY; unset: required unless the server binds loopback.",
    )
    canary_max_age_s: float = Field(
        default=30.0, gt=0, description="How old a canary result /healthz may report."
    )
    explain_max_concurrent: int = Field(
        default=2, ge=1, description="Explain calls a replica runs or queues; 503 above."
    )
    request_timeout_s: float = Field(
        default=60.0, gt=0, description="A scoring call's limit before the API answers 504."
    )
    explain_timeout_s: float = Field(
        default=300.0, gt=0, description="An explain call's limit before the API answers 504."
    )
    # Moderation streams (WS /v1/moderate/stream) held by one model replica.
    stream_max_open: int = Field(
        default=64, ge=1, description="Open streams per replica; a new one is refused above."
    )
    stream_idle_timeout_s: float = Field(
        default=300.0, gt=0, description="A stream unused this long is dropped (its cache freed)."
    )
    # Opt-in capture of served decisions (libra_guard.lifecycle.capture); unset: off.
    capture: CaptureConfig | None = Field(default=None, description="Sampled decision capture.")

    @model_validator(mode="after")
    def _consistent(self) -> ServingConfig:
        if self.batching and self.api_max_ongoing_requests < self.batch_max_size:
            raise ValueError(
                f"api_max_ongoing_requests ({self.api_max_ongoing_requests}) is below "
                f"batch_max_size ({self.batch_max_size}): batches could never fill"
            )
        slots = self.model_max_ongoing_requests + self.model_max_queued_requests
        if self.batching and slots < INGRESS_BATCHES_IN_FLIGHT:
            raise ValueError(
                f"model_max_ongoing_requests + model_max_queued_requests ({slots}) is below the "
                f"{INGRESS_BATCHES_IN_FLIGHT} batches the ingress keeps in flight: a burst "
                "would be refused while the model has room"
            )
        chunks = -(-self.max_items // self.batch_max_size)
        if self.model_max_queued_requests < chunks:
            raise ValueError(
                f"model_max_queued_requests ({self.model_max_queued_requests}) is below the "
                f"{chunks} calls one request of max_items ({self.max_items}) makes in chunks "
                f"of batch_max_size ({self.batch_max_size}): it could be refused on an idle "
                "service"
            )
        return self

    def api_deployment_options(self) -> dict:
        """``Deployment.options`` of the ingress."""
        return {
            "max_ongoing_requests": self.api_max_ongoing_requests,
            "max_queued_requests": self.api_max_queued_requests,
            "backpressure_config": {"status_code": 503, "retry_after_s": self.retry_after_s},
            "ray_actor_options": {"num_cpus": self.api_num_cpus},
        }

    def model_deployment_options(self) -> dict:
        """``Deployment.options`` of the model replicas."""
        options: dict = {
            "max_ongoing_requests": self.model_max_ongoing_requests,
            "max_queued_requests": self.model_max_queued_requests,
            "backpressure_config": {"status_code": 503, "retry_after_s": self.retry_after_s},
            "ray_actor_options": {"num_cpus": self.model_num_cpus, "num_gpus": self.model_num_gpus},
            "max_constructor_retry_count": self.constructor_retries,
            "health_check_period_s": self.health_check_period_s,
            # A stream's calls go to the replica holding its cache (serving.stream_router).
            "request_router_config": {"request_router_class": STREAM_ROUTER_PATH},
        }
        if self.autoscaling is not None:
            options["autoscaling_config"] = self.autoscaling.model_dump()
        else:
            options["num_replicas"] = self.num_replicas
        return options


def load_serving_config(path: Path | None) -> ServingConfig:
    """The ``serving:`` block of a YAML file (or the whole file), or the defaults.

    Raises:
        ConfigError: unreadable file, or a key that is unknown or out of range.
    """
    if path is None:
        return ServingConfig()
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read serving config {path}: {exc}") from exc
    block = loaded.get("serving", loaded) if isinstance(loaded, dict) else loaded
    return parse_serving_config(block, where=str(path))


def parse_serving_config(values: object, where: str = "serving config") -> ServingConfig:
    """Validate a dict as ``ServingConfig``.

    Raises:
        ConfigError: naming each bad key.
    """
    try:
        return ServingConfig.model_validate(values or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'serving'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"invalid {where}: {problems}") from exc
