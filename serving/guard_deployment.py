"""``GuardModel``: the Serve deployment that holds one guard model per replica.

Requests reach it only through the ingress (``app.GuardAPI``). The ingress gathers
concurrent requests into one call (``@serve.batch`` there, where requests arrive), so a
burst of single-item requests costs one call to this replica and one trip to its scoring
thread instead of one each, and the hop from the ingress to this replica is paid per batch.
Here calls that arrive while the model is busy are merged (``merging.WaitingMerger``, no
timer) and scored in passes grouped by length (``bucketing``).

The deployment options (set by ``app.build_model_app`` from ``ServingConfig``) bound the work
per replica: ``max_ongoing_requests`` calls run at once and ``max_queued_requests`` wait;
further callers get ``BackPressureError`` at once, which the ingress answers 503 with
Retry-After. Moderation streams stay on the replica that opened them
(``stream_router``, ``stream_sessions``).

``model`` is the target's source: a pinned registry URI that each replica resolves and
downloads on its own node (``model_source.load_source``), or an unregistered model's folder.
``user_config`` carries the ``ModelVersion`` (registry version, aliases and lineage), which may
change without a restart, so moving an alias after a rollout re-labels the running replicas
instead of reloading them.
"""

from __future__ import annotations

from ray import serve

from libra_guard.tracking.model_version import ModelVersion
from serving.backend import CANARY_FAILED, levels_of
from serving.config import ServingConfig
from serving.merging import WaitingMerger
from serving.model_source import description_of, load_source
from serving.schemas import ModelDescription, ModelRef
from serving.stream_router import new_stream_id
from serving.stream_sessions import OpenStreams


def _levels_dict(description: ModelDescription) -> dict | None:
    """The version's calibrated level thresholds as a plain dict for the ingress, or None."""
    levels = levels_of(description)
    return None if levels is None else levels.model_dump()


@serve.deployment(name="GuardModel")
class GuardModel:
    """One replica: a loaded guard, its description, batched scoring and critiques."""

    def __init__(self, model: str, serving: dict) -> None:
        """Load ``model`` (a folder or a pinned ``models:/`` URI, resolved on this node)."""
        # Imported here so the ingress, which also imports this module, never loads torch.
        from serving.judge_runner import JudgeRunner

        self._config = ServingConfig.model_validate(serving)
        folder = load_source(model)
        self._runner = JudgeRunner(
            folder,
            torch_threads=self._config.torch_threads,
            max_windows=self._config.max_windows,
            explain_max_concurrent=self._config.explain_max_concurrent,
            canary_max_age_s=self._config.canary_max_age_s,
        )
        # Until user_config names the registry version: what the source alone says.
        self._description = self._with_limits(
            description_of(ModelVersion.unregistered(folder), folder)
        )
        self._levels = _levels_dict(self._description)
        config = self._config
        self._streams = OpenStreams(config.stream_max_open, config.stream_idle_timeout_s)
        self._replica = serve.get_replica_context().replica_id.unique_id
        self._merger = WaitingMerger(self._score_merged, max_pairs=config.batch_max_size)

    def reconfigure(self, user_config: dict) -> None:
        """Take the ``ModelVersion`` (``{"model": {name, version, aliases, lineage}}``)."""
        values = user_config.get("model")
        if values:
            model = ModelVersion.from_dict(values)
            self._description = self._with_limits(description_of(model, self._runner.source))
            self._levels = _levels_dict(self._description)

    def _with_limits(self, description: ModelDescription) -> ModelDescription:
        return description.model_copy(
            update={
                "max_chars": self._runner.max_text_chars,
                "window_tokens": self._runner.window_tokens,
            }
        )

    @property
    def _ref(self) -> dict:
        return ModelRef(name=self._description.name, version=self._description.version).model_dump()

    async def score(self, pairs: list[tuple[str, str]]) -> dict:
        """P(不安全) and windows read per pair; with ``batching``, calls waiting for the model
        run merged, without it each call runs alone (the benchmark's unbatched server)."""
        flat = [tuple(pair) for pair in pairs]
        if not self._config.batching:
            return self._reply(await self._score_merged(flat))
        return self._reply(await self._merger.score(flat))

    def _score_merged(self, pairs: list[tuple[str, str]]):
        config = self._config
        return self._runner.scores(
            pairs, batch_size=config.batch_max_size, max_tokens=config.batch_max_tokens
        )

    def _reply(self, scored) -> dict:
        # Plain lists and dicts: the reply crosses to the ingress once per batch.
        return {
            "scores": [one.score for one in scored],
            "windows": [one.windows for one in scored],
            "model": self._ref,
            "levels": self._levels,
        }

    async def explain(self, pairs: list[tuple[str, str]]) -> list[str]:
        """The generated critique per pair (greedy, the paper's protocol)."""
        flat = [tuple(pair) for pair in pairs]
        return await self._runner.critiques(flat, self._config.explain_max_new_tokens)

    async def open_stream(self, question: str) -> str:
        """Start judging a response to ``question`` (its prefix cached now); the stream's id.

        The id names this replica, so ``StreamAffinityRouter`` sends the stream's later calls
        here. Raises ``StreamsFull`` past ``stream_max_open`` open streams.
        """
        from libra_guard.modeling.streaming import StreamingVerdict

        self._streams.check_room()
        verdict = await self._runner.on_model_thread(
            lambda: StreamingVerdict(self._runner.judge, question)
        )
        stream_id = new_stream_id(self._replica)
        self._streams.add(stream_id, verdict)
        return stream_id

    async def add_to_stream(self, stream_id: str, delta: str) -> dict:
        """P(不安全) of the stream's whole response once ``delta`` is appended.

        Raises ``StreamLost`` when this replica does not hold the stream.
        """
        verdict = self._streams.get(stream_id)
        score = await self._runner.on_model_thread(lambda: verdict.add(delta))
        return {"score": min(1.0, max(0.0, score)), "model": self._ref, "levels": self._levels}

    async def close_stream(self, stream_id: str) -> None:
        self._streams.close(stream_id)

    async def describe(self) -> dict:
        return self._description.model_dump()

    async def health(self) -> dict:
        """Readiness: a recent success, else a fresh canary; never exception text."""
        if not await self._runner.ready():
            return {"status": "unavailable", "reason": CANARY_FAILED}
        return {"status": "ready", "model": self._ref}

    async def check_health(self) -> None:
        """Serve's periodic probe, liveness only: the worker threads are up and the last
        canary did not fail. It never waits for the model, so queued work cannot fail it."""
        self._runner.alive()
