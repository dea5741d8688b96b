"""The guard's Prometheus metrics, through Ray Serve's metrics API (``ray.serve.metrics``).

Ray Serve tags each series with its deployment, replica and application, and every Ray node
exports all of them at its metrics export port (``ray.init(_metrics_export_port=N)``, the
``--metrics-export-port`` of ``ray start``; a KubeRay pod sets 8080), where Prometheus
scrapes them. Ray prefixes every name with ``ray_``: ``libra_guard_decisions_total`` is scraped as
``ray_libra_guard_decisions_total``. ``METRIC_NAMES`` lists the scraped names, which the
chart's dashboard queries (a test checks each against a live scrape).

Ray 2.60 records each histogram observation as its bucket's midpoint, so a histogram's
``_sum`` (and a mean from it) is approximate; bucket counts and quantiles from them are not.

The ``level`` label is the API's own level of each decision (``safe``, ``controversial``,
``unsafe``: the model version's calibrated thresholds, ``libra_guard.levels``), the same word
with the same meaning as the ``level`` of the answer; an uncalibrated model has no
controversial band. Windows per item count the overlapping windows a long text was read in
(``libra_guard.modeling.windows``), as each result reports them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ray.serve import metrics

from serving.schemas import ItemResult, ModerationItem

#: P(不安全) bucket bounds; finer near the usual 0.5 threshold.
SCORE_BOUNDS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95]
#: Characters of question + response.
LENGTH_BOUNDS = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
#: Windows one item was read in (1: it fit in one; ServingConfig.max_windows caps it, 16 by
#: default).
WINDOW_BOUNDS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32]
#: Seconds from the request's arrival to its answer.
LATENCY_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

#: The names Prometheus sees (Ray's ``ray_`` prefix; ``_total`` and histogram suffixes added).
METRIC_NAMES = {
    "decisions": "ray_libra_guard_decisions_total",
    "score": "ray_libra_guard_score",
    "input_chars": "ray_libra_guard_input_chars",
    "windows": "ray_libra_guard_windows_per_item",
    "rejected": "ray_libra_guard_rejected_requests_total",
    "latency": "ray_libra_guard_request_latency_seconds",
}


class GuardMetrics:
    """The guard's series; created in each ingress replica (a Ray actor)."""

    def __init__(self) -> None:
        self._decisions = metrics.Counter(
            "libra_guard_decisions_total",
            description="Items judged, by verdict, level (safe, controversial, unsafe) and task.",
            tag_keys=("verdict", "level", "task"),
        )
        self._score = metrics.Histogram(
            "libra_guard_score",
            description="P(unsafe) of judged items.",  # Ray takes ASCII descriptions only
            boundaries=SCORE_BOUNDS,
            tag_keys=("task",),
        )
        self._input_chars = metrics.Histogram(
            "libra_guard_input_chars",
            description="Characters of question plus response per judged item.",
            boundaries=LENGTH_BOUNDS,
            tag_keys=("task",),
        )
        self._windows = metrics.Histogram(
            "libra_guard_windows_per_item",
            description="Overlapping windows each judged item was read in.",
            boundaries=WINDOW_BOUNDS,
            tag_keys=("task",),
        )
        self._rejected = metrics.Counter(
            "libra_guard_rejected_requests_total",
            description="Requests answered 4xx or 5xx, by status code.",
            tag_keys=("status",),
        )
        self._latency = metrics.Histogram(
            "libra_guard_request_latency_seconds",
            description="Seconds from a request's arrival to its answer, by path.",
            boundaries=LATENCY_BOUNDS,
            tag_keys=("path",),
        )

    def record_decisions(
        self, items: Sequence[ModerationItem], results: Sequence[ItemResult]
    ) -> None:
        for item, result in zip(items, results, strict=True):
            tags = {"verdict": result.verdict, "level": result.level, "task": result.task}
            self._decisions.inc(1, tags=tags)
            self._score.observe(result.score, tags={"task": result.task})
            self._windows.observe(result.windows, tags={"task": result.task})
            chars = len(item.question) + len(item.response or "")
            self._input_chars.observe(chars, tags={"task": result.task})

    def record_request(self, path: str, status: int, seconds: float) -> None:
        self._latency.observe(seconds, tags={"path": path})
        if status >= 400:
            self._rejected.inc(1, tags={"status": str(status)})
