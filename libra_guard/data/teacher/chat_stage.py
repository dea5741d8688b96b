"""Send one chat request per row on Ray Data (``map_batches``), or in-process with the same
code.

Why not ``ray.data.llm``'s ``HttpRequestProcessorConfig`` (read in Ray 2.60's
``ray/llm/_internal/batch/stages/http_request_stage.py``, ``HttpRequestUDF.udf``): it retries
429/5xx with its own exponential wait and ignores ``Retry-After``; it drops the HTTP status of
a 401 (the error body becomes the row's ``http_response``); it raises on exhausted retries,
failing the whole dataset instead of dropping the row with a reason; and it has no request
cache, so a killed run would pay for every request again. Its batching and actor pool are what
we keep: a callable class in ``map_batches`` with ``concurrency`` actors per endpoint.

On a cluster of several nodes, the cache folder (beside the output) must be on storage every
node mounts: the actors write the replies there.

Input rows carry ``request_id``, ``messages`` (JSON text) and ``seed``; every other column
passes through. Output rows gain ``reply_text``, ``reply_error``, ``prompt_tokens``,
``completion_tokens``, ``attempts`` (HTTP tries made now; 0 for a cached reply), ``cached``
and ``fatal`` (non-empty when the endpoint itself failed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from libra_guard.data.teacher.chat_client import ChatClient, ChatReply, EndpointError
from libra_guard.data.teacher.config import Endpoint
from libra_guard.data.teacher.request_cache import RequestCache, request_key

#: Ray Data actors wait on the network, not the CPU; a quarter CPU each lets several run on
#: a small head next to other work.
ACTOR_CPUS = 0.25


class ChatBatchCaller:
    """The ``map_batches`` callable of one endpoint: cache first, then the network."""

    def __init__(self, endpoint: dict, cache_dir: str, api_key: str | None) -> None:
        self.endpoint = Endpoint.model_validate(endpoint)
        share = self.endpoint.requests_per_second / self.endpoint.concurrency
        self.client = ChatClient(self.endpoint, rate=share, api_key=api_key or "")
        self.cache = RequestCache(cache_dir)
        self.fatal = ""

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        with ThreadPoolExecutor(max_workers=self.endpoint.max_in_flight) as pool:
            outcomes = list(pool.map(self._one, batch["messages"], batch["seed"]))
        replies = [reply for reply, _, _ in outcomes]
        batch = batch.copy()
        batch["reply_text"] = [reply.text or "" for reply in replies]
        batch["reply_error"] = [reply.error or "" for reply in replies]
        batch["prompt_tokens"] = [reply.prompt_tokens for reply in replies]
        batch["completion_tokens"] = [reply.completion_tokens for reply in replies]
        batch["attempts"] = [reply.attempts for reply in replies]
        batch["cached"] = [cached for _, cached, _ in outcomes]
        batch["fatal"] = [fatal for _, _, fatal in outcomes]
        return batch

    def _one(self, messages: str, seed: int) -> tuple[ChatReply, bool, str]:
        body = self.client.request_body(json.loads(messages), int(seed))
        key = request_key(self.client.url, body)
        stored = self.cache.get(key)
        if stored is not None:
            return ChatReply(**stored, attempts=0), True, ""
        if self.fatal:
            # One refused key or dead URL fails the endpoint: ask no more of it.
            return ChatReply(error=self.fatal), False, self.fatal
        try:
            reply = self.client.complete(body)
        except EndpointError as exc:
            self.fatal = str(exc)
            return ChatReply(error=self.fatal), False, self.fatal
        if reply.text is not None:
            self.cache.put(
                key,
                {
                    "text": reply.text,
                    "prompt_tokens": reply.prompt_tokens,
                    "completion_tokens": reply.completion_tokens,
                },
            )
        return reply, False, ""


def run_chat_requests(
    rows: Sequence[dict],
    endpoint: Endpoint,
    cache_dir: str,
    *,
    batch_size: int,
    engine: str,
) -> list[dict]:
    """Every row with its reply, in ``request_id`` order.

    Raises:
        EndpointError: the endpoint failed as a whole (finished replies stay cached).
    """
    if not rows:
        return []
    # The key is read here, in the driver: worker processes (on other nodes too) do not have
    # the driver's environment, so they receive it with the actor's arguments.
    arguments = {
        "endpoint": endpoint.model_dump(mode="json"),
        "cache_dir": str(cache_dir),
        "api_key": endpoint.api_key(),
    }
    if engine == "local":
        caller = ChatBatchCaller(**arguments)
        frames = [
            caller(pd.DataFrame(list(rows[start : start + batch_size])))
            for start in range(0, len(rows), batch_size)
        ]
        answered = pd.concat(frames).to_dict("records")
    else:
        import ray.data

        from libra_guard.training.ray_runtime import ensure_ray

        ensure_ray()  # LIBRA_RAY_ADDRESS's cluster, else the local head
        dataset = ray.data.from_items(list(rows)).map_batches(
            ChatBatchCaller,
            fn_constructor_kwargs=arguments,
            batch_size=batch_size,
            batch_format="pandas",
            concurrency=endpoint.concurrency,
            num_cpus=ACTOR_CPUS,
        )
        answered = dataset.take_all()
    fatal = next((row["fatal"] for row in answered if row["fatal"]), "")
    if fatal:
        raise EndpointError(fatal)
    return sorted(answered, key=lambda row: row["request_id"])
