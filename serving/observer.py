"""``DecisionObserver``: what the API reports after each request (metrics, opt-in capture).

``create_api`` calls ``install`` once (a middleware that times every request and counts the
refused ones by status) and ``decided`` after each moderation. Both parts are optional: the
plain baseline runs without metrics, and capture is off unless ``ServingConfig.capture`` is
set. Capture is handed the items and their results only, never the request, so headers and
the API key cannot reach a record. A capture write that fails is logged and retried on the next
flush; it never fails the request the guard already answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from libra_guard.errors import DataError
from libra_guard.lifecycle.capture import CaptureSink, Decision
from serving.config import ServingConfig
from serving.schemas import ItemResult, ModerationItem

logger = logging.getLogger(__name__)


class DecisionObserver:
    """Metrics (``serving.metrics.GuardMetrics``) and a capture sink, each optional."""

    def __init__(self, metrics=None, capture: CaptureSink | None = None) -> None:
        self.metrics = metrics
        self.capture = capture

    def install(self, app: FastAPI) -> None:
        if self.capture is not None:
            inner = app.router.lifespan_context

            @asynccontextmanager
            async def _flush_at_shutdown(app_: FastAPI):
                async with inner(app_) as state:
                    yield state
                await self._flush_capture()

            app.router.lifespan_context = _flush_at_shutdown
        if self.metrics is None:
            return

        @app.middleware("http")
        async def _time_requests(request: Request, call_next):
            started = time.perf_counter()
            response = await call_next(request)
            self.metrics.record_request(
                request.url.path, response.status_code, time.perf_counter() - started
            )
            return response

    async def decided(self, items: Sequence[ModerationItem], results: Sequence[ItemResult]) -> None:
        if self.metrics is not None:
            self.metrics.record_decisions(items, results)
        if self.capture is None:
            return
        decisions = [
            Decision(
                question=item.question,
                response=item.response,
                task=result.task,
                score=result.score,
                label=result.label,
                verdict=result.verdict,
                model=result.model.model_dump(),
                level=result.level,
            )
            for item, result in zip(items, results, strict=True)
        ]
        if self.capture.offer(decisions):
            await self._flush_capture()

    async def _flush_capture(self) -> None:
        try:
            await asyncio.to_thread(self.capture.flush)
        except DataError as exc:
            logger.warning("capture write failed (kept for the next flush): %s", exc)


def capture_sink(config: ServingConfig) -> CaptureSink | None:
    """The capture sink ``config.capture`` asks for, or None when capture is off."""
    return CaptureSink(config.capture, config.threshold) if config.capture else None


def serve_observer(config: ServingConfig) -> DecisionObserver:
    """The observer of a Serve ingress replica: metrics always, capture when configured."""
    from serving.metrics import GuardMetrics

    return DecisionObserver(metrics=GuardMetrics(), capture=capture_sink(config))
