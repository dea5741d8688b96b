"""The guard's Prometheus metrics, scraped from a guard served on Ray Serve after known traffic,
and the shipped Grafana dashboard checked against what the scrape actually holds.

Ray's metrics agent exports what the replicas reported on its report interval (seconds), so
the test polls the scrape until the counts of the traffic it sent have arrived; the counts are
taken as differences from a scrape before the traffic, since the Ray head is shared by the
test session.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from serving.config import ServingConfig
from serving.metrics import LENGTH_BOUNDS, METRIC_NAMES, WINDOW_BOUNDS
from serving.plain import free_port
from serving.rollout.serve_config import API_APP
from tests.serving.conftest import LIMITS, PAIRS, tiny_guard  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
DASHBOARD = Path(__file__).resolve().parents[2] / "charts/libra-guard/dashboards/libra-guard.json"
SCRAPE_DEADLINE_S = 120


def scrape(url: str) -> list[tuple[str, dict, float]]:
    text = requests.get(url, timeout=30).text
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def totals(samples, name: str, by: str | None = None) -> Counter:
    """Sum of ``name`` over the guard API application's series, grouped by label ``by``."""
    sums: Counter = Counter()
    for sample_name, labels, value in samples:
        if sample_name == name and labels.get("application") == API_APP:
            sums[labels.get(by) if by else None] += value
    return sums


@pytest.fixture(scope="module")
def served(ray_address: str, tiny_guard: Path, tmp_path_factory) -> Iterator:  # noqa: F811
    from serving.service import start_service

    state = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIBRA_STATE_DIR", str(state))
        patch.delenv("LIBRA_API_KEY", raising=False)
        config = ServingConfig(**LIMITS, model_num_cpus=0.25)
        service = start_service(str(tiny_guard), config, port=free_port())
        try:
            yield service
        finally:
            service.rollout.stop()
            # Serve keeps its proxy (and its HTTP port) on the session's Ray head until
            # shut down; a later module's serve.start with another port would be ignored.
            from ray import serve

            serve.shutdown()


def cumulative(buckets: Counter) -> dict[float, float]:
    """A histogram's ``_bucket`` deltas by numeric bound, ``+Inf`` left out."""
    return {float(le): count for le, count in buckets.items() if le != "+Inf"}


def test_counts_scraped_after_known_traffic_match_it(served) -> None:
    assert served.metrics_url is not None
    before = scrape(served.metrics_url)
    batch = [{"question": q, "response": r} for q, r, _ in PAIRS]
    # A response at the character limit: the tiny guard reads it in more than one window.
    question, response, _ = PAIRS[1]
    long = (response * LIMITS["max_chars"])[: LIMITS["max_chars"]]
    answers = [
        requests.post(f"{served.url}/v1/moderate", json={"items": batch}, timeout=60),
        requests.post(f"{served.url}/v1/moderate", json={"question": "你好"}, timeout=60),
        requests.post(
            f"{served.url}/v1/moderate", json={"question": question, "response": long}, timeout=60
        ),
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    results = [result for answer in answers for result in answer.json()["results"]]
    assert results[-1]["windows"] > 1
    assert requests.post(f"{served.url}/v1/moderate", json={"question": ""}).status_code == 422
    assert requests.post(f"{served.url}/v1/moderate", data=b"{}").status_code == 415
    lengths = [len(q) + len(r) for q, r, _ in PAIRS] + [len("你好"), len(question) + len(long)]

    deadline = time.monotonic() + SCRAPE_DEADLINE_S
    while True:
        after = scrape(served.metrics_url)

        def delta(name: str, by: str | None = None, after=after) -> Counter:
            difference = totals(after, name, by)
            difference.subtract(totals(before, name, by))
            return +difference

        decided = delta(METRIC_NAMES["decisions"], "verdict")
        rejected = delta(METRIC_NAMES["rejected"], "status")
        latency = delta(METRIC_NAMES["latency"] + "_count", "path")
        read = delta(METRIC_NAMES["windows"] + "_count")
        arrived = (
            sum(decided.values()) >= len(results)
            and sum(read.values()) >= len(results)
            and sum(rejected.values()) >= 2
            and latency["/v1/moderate"] >= 5
        )
        if arrived or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert decided == Counter(result["verdict"] for result in results)
    assert delta(METRIC_NAMES["decisions"], "task") == Counter(response=5, prompt=1)
    assert rejected == Counter({"422": 1, "415": 1})
    assert latency["/v1/moderate"] == 5
    assert sum(delta(METRIC_NAMES["score"] + "_count").values()) == 6
    # Ray 2.60 exports each observation as its bucket's midpoint (open_telemetry_metric_recorder
    # .py, bucket midpoints), so _sum is approximate; the cumulative buckets are exact.
    by_bound = cumulative(delta(METRIC_NAMES["input_chars"] + "_bucket", "le"))
    for bound in LENGTH_BOUNDS:
        assert by_bound.get(float(bound), 0) == sum(n <= bound for n in lengths), bound
    windows = [result["windows"] for result in results]
    by_bound = cumulative(delta(METRIC_NAMES["windows"] + "_bucket", "le"))
    for bound in WINDOW_BOUNDS:
        assert by_bound.get(float(bound), 0) == sum(n <= bound for n in windows), bound
    assert sum(delta(METRIC_NAMES["windows"] + "_count").values()) == len(results)
    # The level label is the API's level of each decision, counted as the answers gave it.
    assert delta(METRIC_NAMES["decisions"], "level") == Counter(r["level"] for r in results)


def test_every_dashboard_query_names_a_metric_the_guard_exports(served) -> None:
    samples = scrape(served.metrics_url)
    exported = {name for name, labels, _ in samples}
    bounds = {labels["le"] for _, labels, _ in samples if "le" in labels}
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [
        variable["query"]
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query"
    ]
    assert len(queries) >= 8
    for query in queries:
        names = set(re.findall(r"\bray_[a-z_]+", query))
        assert names, f"no metric in {query!r}"
        missing = names - exported
        assert not missing, f"{query!r} names {sorted(missing)}, which the guard does not export"
        # A bucket picked by its bound must name it as the exporter writes it ("1.0", not "1").
        for bound in re.findall(r'le="([^"]+)"', query):
            assert bound in bounds, f"{query!r} picks le={bound!r}; exported bounds: {bounds}"
