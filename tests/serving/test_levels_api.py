"""``level`` and the request's ``policy``: a calibrated version's band, an uncalibrated cut."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from libra_guard.tracking.model_version import ModelVersion
from serving.config import ServingConfig
from serving.plain import running_plain_server
from serving.rollout.base import ModelTarget
from tests.serving.conftest import PAIRS

TIMEOUT = 30
ITEMS = [{"question": q, "response": r} for q, r, _ in PAIRS]


def moderate(url: str, body: object) -> list[dict]:
    reply = requests.post(f"{url}/v1/moderate", json=body, timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    return reply.json()["results"]


@pytest.fixture(scope="module")
def banded(plain_url: str, tiny_guard: Path, serving_limits: ServingConfig) -> Iterator[tuple]:
    """The tiny guard described as a version calibrated so that its middle score is in the
    band: thresholds halfway between the lowest, middle and highest of three scores."""
    results = moderate(plain_url, {"items": ITEMS[:3]})
    order = sorted(range(3), key=lambda index: results[index]["score"])
    low, mid, high = (results[index]["score"] for index in order)
    assert low < mid < high, "the tiny guard should score three different texts differently"
    levels = {"safe_below": (low + mid) / 2, "unsafe_from": (mid + high) / 2, "precision": 0.9}
    version = ModelVersion(name="libra-guard", version="7", lineage={"levels": levels})
    calibrated = ModelTarget(version, str(tiny_guard))
    with running_plain_server(calibrated, serving_limits) as url:
        yield url, order


def test_a_calibrated_version_answers_three_levels(banded) -> None:
    url, order = banded
    results = moderate(url, {"items": ITEMS[:3]})
    assert [results[index]["level"] for index in order] == ["safe", "controversial", "unsafe"]


def test_the_policy_maps_only_the_controversial_band(banded) -> None:
    url, order = banded
    strict = moderate(url, {"items": ITEMS[:3], "policy": "strict"})
    loose = moderate(url, {"items": ITEMS[:3], "policy": "loose"})
    default = moderate(url, {"items": ITEMS[:3]})
    assert [strict[index]["verdict"] for index in order] == ["safe", "unsafe", "unsafe"]
    assert [loose[index]["verdict"] for index in order] == ["safe", "safe", "unsafe"]
    assert default == strict  # the server's level_policy defaults to strict (fail closed)
    middle = ITEMS[order[1]]
    assert moderate(url, middle | {"policy": "loose"})[0]["label"] == "安全"


def test_the_openai_route_reports_the_level_and_flags_per_the_server_policy(banded) -> None:
    url, _ = banded
    texts = [ITEMS[index]["question"] for index in range(3)]
    natives = moderate(url, [{"question": text} for text in texts])
    reply = requests.post(f"{url}/v1/moderations", json={"input": texts}, timeout=TIMEOUT)
    for native, result in zip(natives, reply.json()["results"], strict=True):
        assert result["level"] == native["level"]
        assert result["flagged"] == (native["verdict"] == "unsafe")


def test_an_uncalibrated_model_has_no_band(plain_url: str) -> None:
    for result in moderate(plain_url, {"items": ITEMS, "policy": "loose"}):
        assert result["level"] == result["verdict"]
        assert result["verdict"] == ("unsafe" if result["score"] >= 0.5 else "safe")


def test_an_unknown_policy_is_a_422(plain_url: str) -> None:
    reply = requests.post(
        f"{plain_url}/v1/moderate", json={"question": "你好", "policy": "lax"}, timeout=TIMEOUT
    )
    assert reply.status_code == 422 and "policy" in reply.json()["message"]
