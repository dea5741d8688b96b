"""The Serve side of the guard API: the ingress deployment and the application builders.

Two kinds of Serve application run side by side (``rollout.serve_config`` writes them):

- the API application (route ``/``): ``GuardAPI``, FastAPI over ``ServeBackend``. Its
  ``user_config`` names the model application it sends work to, so switching traffic to
  another model version is a lightweight reconfigure of the running ingress replicas: no
  restart, no dropped request;
- one model application per served version (no route): ``GuardModel`` replicas.

A Serve config file names the builders ``serving.app:build_api_app`` and
``serving.app:build_model_app``; their ``args`` carry the ``ServingConfig`` (and the model
folder), which is how ``serve run``, the local rollout and a RayService all start the same
code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from ray import serve
from ray.exceptions import RayActorError
from ray.serve import Application
from ray.serve.exceptions import BackPressureError, RayServeException

from libra_guard.errors import ConfigError
from libra_guard.levels import LevelThresholds
from serving.api import create_api
from serving.auth import server_api_key
from serving.backend import CANARY_FAILED, CANARY_TIMED_OUT, NO_MODEL, Scored
from serving.config import INGRESS_BATCHES_IN_FLIGHT, ServingConfig, parse_serving_config
from serving.guard_deployment import GuardModel
from serving.http_errors import ApiError, ModelUnavailable, Overloaded
from serving.judge_runner import ExplainBusy, Pair
from serving.observer import serve_observer
from serving.schemas import Health, ModelDescription, ModelRef
from serving.stream import SERVER_ERROR, StreamError
from serving.stream_sessions import StreamLost, StreamsFull

logger = logging.getLogger(__name__)

API_DEPLOYMENT = "GuardAPI"
MODEL_DEPLOYMENT = "GuardModel"
#: How long /healthz waits for the model's canary before answering 503.
HEALTH_TIMEOUT_S = 10.0


def _count_pairs(calls: list[Sequence]) -> int:
    """Batch size in pairs: each batched call carries a list of pairs."""
    return sum(len(pairs) for pairs in calls)


class ServeBackend:
    """``GuardBackend`` over Serve handles to the model application named in user_config."""

    def __init__(self, config: ServingConfig) -> None:
        self._config = config
        self._app_name: str | None = None
        self._handle = None
        self._text_limits: dict[str, int | None] = {}
        self._score_batch.set_max_batch_size(config.batch_max_size)
        self._score_batch.set_batch_wait_timeout_s(config.batch_wait_timeout_s)

    def point_to(self, app_name: str) -> None:
        """Send all new work to ``app_name``; calls already made finish where they are."""
        self._handle = serve.get_deployment_handle(MODEL_DEPLOYMENT, app_name=app_name)
        self._app_name = app_name

    async def text_limit(self) -> int | None:
        """The model application's character limit, asked once per application."""
        name = self._app_name
        if name not in self._text_limits:
            self._text_limits[name] = (await self.describe()).max_chars
        return self._text_limits[name]

    async def score(self, pairs: Sequence[Pair]) -> list[Scored]:
        """Scores in order; with batching, concurrent requests share one model call."""
        size = self._config.batch_max_size
        chunks = [list(pairs[start : start + size]) for start in range(0, len(pairs), size)]
        work = self._score_batch if self._config.batching else self._score_now
        replies = await asyncio.gather(*(work(chunk) for chunk in chunks))
        return [one for reply in replies for one in reply]

    # Several batches in flight: one waiting at the model replica is merged there with the
    # ones behind it (merging.WaitingMerger) instead of waiting here for a full batch, and
    # the model's queue bound (max_queued_requests: 503) still sees the backlog.
    # 8 x 16 pairs stays within the default api_max_ongoing_requests (128).
    @serve.batch(
        max_batch_size=16,
        batch_wait_timeout_s=0.01,
        batch_size_fn=_count_pairs,
        max_concurrent_batches=INGRESS_BATCHES_IN_FLIGHT,
    )
    async def _score_batch(self, calls: list[list[Pair]]) -> list[list[Scored]]:
        """The chunks of concurrent requests as one model call, split back per chunk."""
        scored = await self._score_now([pair for pairs in calls for pair in pairs])
        replies, start = [], 0
        for pairs in calls:
            replies.append(scored[start : start + len(pairs)])
            start += len(pairs)
        return replies

    async def _score_now(self, pairs: list[Pair]) -> list[Scored]:
        reply = await self._call(self._current().score, pairs)
        # Parsed once per model call, shared by every pair of it.
        model = ModelRef.model_validate(reply["model"])
        levels = LevelThresholds.model_validate(reply["levels"]) if reply.get("levels") else None
        return [
            Scored(score, model, windows, levels)
            for score, windows in zip(reply["scores"], reply["windows"], strict=True)
        ]

    async def explain(self, pairs: Sequence[Pair]) -> list[str]:
        return await self._call(self._current().explain, list(pairs))

    async def open_stream(self, question: str) -> ServeStream:
        """A stream on one model replica of the current application (its prefix cached).

        The stream keeps this application's handle: a traffic switch mid-stream leaves it
        where its cache is.
        """
        handle = self._current()
        stream_id = await self._call(handle.open_stream, question)
        return ServeStream(self, handle, stream_id)

    async def describe(self) -> ModelDescription:
        return ModelDescription.model_validate(await self._call(self._current().describe))

    async def health(self) -> Health:
        try:
            handle = self._current()
            reply = await asyncio.wait_for(self._call(handle.health), HEALTH_TIMEOUT_S)
        except TimeoutError:
            return Health(status="unavailable", reason=CANARY_TIMED_OUT)
        except (ModelUnavailable, Overloaded):
            return Health(status="unavailable", reason=NO_MODEL)
        except Exception:
            logger.exception("the health check of %s failed", self._app_name)
            return Health(status="unavailable", reason=CANARY_FAILED)
        return Health.model_validate(reply)

    def _current(self):
        if self._handle is None:
            raise ModelUnavailable("no model application is configured yet")
        return self._handle

    async def _call(self, method, *args):
        try:
            return await method.remote(*args)
        except BackPressureError as exc:
            raise Overloaded(
                "the guard is at its queue limit; retry shortly", self._config.retry_after_s
            ) from exc
        except StreamsFull as exc:
            raise Overloaded(str(exc), self._config.retry_after_s) from exc
        except StreamLost as exc:
            raise StreamError("stream_lost", exc.args[0], SERVER_ERROR) from exc
        except ExplainBusy as exc:
            # Ray re-raises a replica's exception as an instance of its own class.
            raise Overloaded(
                "the guard is at its explain limit (explain_max_concurrent); retry shortly or "
                "ask without explain",
                self._config.retry_after_s,
            ) from exc
        except (RayActorError, RayServeException) as exc:
            raise ModelUnavailable(
                f"the model application {self._app_name!r} is not available: {type(exc).__name__}"
            ) from exc


class ServeStream:
    """One open stream: each call goes to the replica holding it (``StreamAffinityRouter``)."""

    def __init__(self, backend: ServeBackend, handle, stream_id: str) -> None:
        self._backend = backend
        self._handle = handle.options(session_id=stream_id)
        self._id = stream_id

    async def add(self, delta: str) -> Scored:
        try:
            reply = await self._backend._call(self._handle.add_to_stream, self._id, delta)
        except (ApiError, StreamError):
            raise
        except Exception as exc:
            # Whatever Ray made of the replica's error: a clean close, never a dropped socket.
            logger.exception("stream %s failed on its model replica", self._id)
            raise StreamError(
                "stream_lost", "the model replica could not continue this stream", SERVER_ERROR
            ) from exc
        levels = reply.get("levels")
        return Scored(
            reply["score"],
            ModelRef.model_validate(reply["model"]),
            levels=LevelThresholds.model_validate(levels) if levels else None,
        )

    async def close(self) -> None:
        """Free the stream's cache on its replica; a replica already gone holds nothing."""
        with contextlib.suppress(ModelUnavailable, StreamError):
            await self._backend._call(self._handle.close_stream, self._id)


@serve.deployment(name=API_DEPLOYMENT)
@serve.ingress()
class GuardAPI:
    """The HTTP ingress: validation, auth and error mapping, then calls to ``GuardModel``."""

    def __init__(self, serving: dict, bind_host: str | None = None) -> None:
        """Raises ``ConfigError`` when auth is required and ``LIBRA_API_KEY`` is empty."""
        self._config = ServingConfig.model_validate(serving)
        self._api_key = server_api_key(bind_host, self._config.auth_required)
        self._backend = ServeBackend(self._config)

    def reconfigure(self, user_config: dict) -> None:
        """``{"model_app": NAME}``: the model application that gets the traffic."""
        self._backend.point_to(str(user_config["model_app"]))

    def __serve_build_asgi_app__(self):
        return create_api(
            self._backend,
            self._config,
            api_key=self._api_key,
            observer=serve_observer(self._config),
        )


def build_api_app(args: dict) -> Application:
    """Builder of the API application.

    ``args``: ``{"serving": ServingConfig fields, "bind_host": the HTTP host}``; without
    ``bind_host`` the address is unknown, so auth is required unless ``auth_required: false``.
    """
    args = args or {}
    config = parse_serving_config(args.get("serving"))
    return GuardAPI.options(**config.api_deployment_options()).bind(
        config.model_dump(), args.get("bind_host")
    )


def build_model_app(args: dict) -> Application:
    """Builder of one model application.

    ``args``: ``{"model": FOLDER or models:/URI, "serving": {...}}``; each replica resolves a
    registry URI on its own node.

    Raises:
        ConfigError: no ``model``.
    """
    args = args or {}
    if not args.get("model"):
        raise ConfigError(
            "the model application needs args.model (a model folder or models:/NAME@ALIAS)"
        )
    config = parse_serving_config(args.get("serving"))
    return GuardModel.options(**config.model_deployment_options()).bind(
        str(args["model"]), config.model_dump()
    )
