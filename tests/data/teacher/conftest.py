"""A scripted OpenAI-compatible server and a teacher config pointing every role at it."""

from __future__ import annotations

import pytest

from libra_guard.data.teacher.config import TeacherConfig
from tests.data.teacher.scripts import scripts
from tests.fakes.openai_chat import FakeChatServer

KEY_ENV = "LIBRA_TEST_TEACHER_KEY"
#: Client read timeout of the scripted run; the flaky answerer's slow reply outlasts it.
TIMEOUT_S = 0.5


@pytest.fixture
def chat_server(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with FakeChatServer(scripts(timeout_delay=TIMEOUT_S * 3), api_key="sk-test") as server:
        yield server


def endpoint(server: FakeChatServer, model: str, **extra) -> dict:
    return {
        "base_url": server.url,
        "model": model,
        "api_key_env": KEY_ENV,
        "requests_per_second": 500,
        "timeout_s": TIMEOUT_S,
        "max_retries": 3,
        "max_backoff_s": 0.05,
        **extra,
    }


def config_values(server: FakeChatServer, **overrides) -> dict:
    values = {
        "generator": endpoint(server, "gen"),
        "rewriter": endpoint(server, "rewriter"),
        "answerers": [endpoint(server, "answer-comply"), endpoint(server, "answer-flaky")],
        "judges": [endpoint(server, "judge-a"), endpoint(server, "judge-b")],
        "queries_per_combination": 4,
        "engine": "local",
        "batch_size": 8,
    }
    values.update(overrides)
    return values


@pytest.fixture
def teacher_config(chat_server) -> TeacherConfig:
    return TeacherConfig.model_validate(config_values(chat_server))
