"""What keeps the service honest under attack and load: auth that fails closed, health that
an explain burst cannot starve, no internal details in answers, no text cut unread."""

from __future__ import annotations

import asyncio
import logging

import pytest
import requests

from libra_guard.errors import ConfigError
from serving.api import _within
from serving.auth import API_KEY_ENV, is_loopback, server_api_key
from serving.backend import CANARY_FAILED, LocalBackend
from serving.config import ServingConfig
from serving.http_errors import ApiError
from serving.judge_runner import ExplainBusy, JudgeRunner
from serving.model_source import target_of
from serving.parsing import parse_moderation
from serving.plain import running_plain_server
from serving.schemas import ModelDescription, PublicModel
from serving.service import start_service
from tests.serving.conftest import PAIRS

TIMEOUT = 60


# --- authentication that fails closed ---------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   \n"])
def test_a_required_key_that_is_empty_refuses_to_start(monkeypatch, value) -> None:
    if value is None:
        monkeypatch.delenv(API_KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(API_KEY_ENV, value)
    with pytest.raises(ConfigError, match=API_KEY_ENV):
        server_api_key("0.0.0.0", None)
    with pytest.raises(ConfigError, match=API_KEY_ENV):
        server_api_key("127.0.0.1", True)
    with pytest.raises(ConfigError, match=API_KEY_ENV):
        server_api_key(None, None)  # an address not known to be loopback


def test_loopback_without_a_key_runs_open_with_a_warning(monkeypatch, caplog) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    with caplog.at_level(logging.WARNING, logger="serving.auth"):
        assert server_api_key("127.0.0.1", None) is None
    assert "WITHOUT authentication" in caplog.text
    assert server_api_key("10.0.0.5", False) is None
    assert [is_loopback(h) for h in ("localhost", "::1", "0.0.0.0", "guard.svc")] == [
        True,
        True,
        False,
        False,
    ]


def test_the_key_is_stripped_of_surrounding_whitespace(monkeypatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, "  s3cret-key\n")
    assert server_api_key("0.0.0.0", None) == "s3cret-key"


def test_servers_on_other_addresses_refuse_to_start_without_a_key(monkeypatch, tiny_guard) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    model = target_of(str(tiny_guard))
    with (
        pytest.raises(ConfigError, match=API_KEY_ENV),
        running_plain_server(model, ServingConfig(), host="0.0.0.0"),
    ):
        pass
    # Refused before Ray or Serve start.
    with pytest.raises(ConfigError, match=API_KEY_ENV):
        start_service(str(tiny_guard), ServingConfig(), host="0.0.0.0")


# --- no internal details in answers -------------------------------------------------------


def test_model_description_shows_only_allow_listed_lineage() -> None:
    description = ModelDescription(
        name="libra-guard",
        version="3",
        source="/var/lib/models/libra-guard/3",
        aliases=["champion"],
        lineage={
            "model_uri": "models:/libra-guard/3",
            "checkpoint_uri": "/work/.libra/kfp/finetune/model",
            "source": "s3://mlflow/artifacts/3",
            "run_id": "abc",
            "git_commit": "deadbeef",
            "base_model": "/home/me/models/qwen",
            "dataset_digests": {"test": "c" * 64},
        },
    )
    shown = PublicModel.of(description).model_dump()
    assert "source" not in shown
    assert shown["lineage"] == {
        "model_uri": "models:/libra-guard/3",
        "git_commit": "deadbeef",
        "dataset_digests": {"test": "c" * 64},
    }
    hub = description.model_copy(update={"lineage": {"base_model": "Qwen/Qwen2.5-0.5B"}})
    assert PublicModel.of(hub).lineage == {"base_model": "Qwen/Qwen2.5-0.5B"}


def test_data_sources_are_shown_by_name_and_digest_never_by_location() -> None:
    sources = {
        "s3://libra-data/feedback/2026-11.jsonl": "a" * 64,
        "/home/me/data/real.jsonl": "b" * 64,
    }
    description = ModelDescription(
        name="libra-guard", version="4", source="x", lineage={"data_sources": sources}
    )
    shown = PublicModel.of(description).model_dump()
    assert shown["lineage"]["data_sources"] == [
        {"name": "real.jsonl", "sha256": "b" * 64},
        {"name": "2026-11.jsonl", "sha256": "a" * 64},
    ]
    text = str(shown)
    assert "libra-data" not in text and "/home/me" not in text


class _BrokenRunner:
    max_text_chars = 100
    window_tokens = 10

    async def ready(self) -> bool:
        try:
            raise RuntimeError("CUDA error at /opt/secret/path/model.bin")
        except RuntimeError:
            return False


def test_health_says_unavailable_without_exception_text() -> None:
    description = ModelDescription(name="m", version="1", source="/x")
    health = asyncio.run(LocalBackend(_BrokenRunner(), description, ServingConfig()).health())
    assert health.status == "unavailable" and health.reason == CANARY_FAILED
    assert "/opt" not in health.model_dump_json()


# --- health that load cannot starve -------------------------------------------------------


@pytest.fixture(scope="module")
def runner(tiny_guard) -> JudgeRunner:
    return JudgeRunner(tiny_guard, explain_max_concurrent=1, canary_max_age_s=3600)


def test_scoring_is_not_queued_behind_an_explain_burst(runner) -> None:
    long_pairs = [(q, r * 8) for q, r, _ in PAIRS] * 2

    async def race() -> tuple[bool, bool]:
        explaining = asyncio.ensure_future(runner.critiques(long_pairs, max_new_tokens=96))
        await asyncio.sleep(0.05)  # the critique holds its thread now
        scored = await runner.scores([PAIRS[0][:2]], batch_size=1)
        critique_still_running = not explaining.done()
        with pytest.raises(ExplainBusy):
            await runner.critiques([PAIRS[0][:2]], max_new_tokens=4)
        await explaining
        return critique_still_running, 0.0 <= scored[0].score <= 1.0

    assert asyncio.run(race()) == (True, True)


def test_liveness_and_cached_readiness_do_not_touch_the_model(runner, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("the model is wedged")

    monkeypatch.setattr(runner.judge, "verdict_windows", broken)
    runner.alive()  # no model call: passes while the model is wedged
    assert asyncio.run(runner.ready()) is True  # a recent success is reported, not re-run
    monkeypatch.setattr(runner, "_canary_max_age_s", 0.0)
    assert asyncio.run(runner.ready()) is False
    with pytest.raises(Exception, match="last canary failed"):
        runner.alive()


def test_item_count_is_checked_before_items_are_validated() -> None:
    config = ServingConfig(max_items=2)
    with pytest.raises(ApiError) as refused:
        parse_moderation([{"question": 3}] * 3, config)
    assert refused.value.status == 413 and refused.value.code == "too_many_items"


def test_a_slow_model_gets_a_504_naming_the_limit() -> None:
    with pytest.raises(ApiError) as refused:
        asyncio.run(_within(asyncio.sleep(5), 0.05, "request"))
    assert refused.value.status == 504 and "request_timeout_s" in refused.value.message


# --- windowed scoring through the API -----------------------------------------------------


@pytest.fixture(scope="module")
def windowed_url(tiny_guard):
    with running_plain_server(target_of(str(tiny_guard)), ServingConfig(max_windows=4)) as url:
        yield url


def test_long_responses_are_read_in_windows_up_to_the_models_limit(windowed_url) -> None:
    model = requests.get(f"{windowed_url}/v1/model", timeout=TIMEOUT).json()
    limit, window = model["max_chars"], model["window_tokens"]
    assert limit == window + 3 * (window - window // 4)
    question, response, _ = PAIRS[1]
    long = (response * (limit // len(response) + 1))[:limit]
    answer = requests.post(
        f"{windowed_url}/v1/moderate", json={"question": question, "response": long}, timeout=60
    )
    assert answer.status_code == 200
    assert answer.json()["results"][0]["windows"] > 1
    over = requests.post(
        f"{windowed_url}/v1/moderate",
        json={"question": question, "response": long + "。"},
        timeout=TIMEOUT,
    )
    assert over.status_code == 413 and str(limit) in over.json()["message"]
