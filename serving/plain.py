"""The guard API in one process, without Ray: the benchmark's baseline and a debugging aid.

The same ``create_api`` app over a ``LocalBackend`` (the model in this process, one forward
pass at a time, no cross-request batching), served by uvicorn on a background thread.

Usage::

    with running_plain_server(target_of("runs/demo/model/final"), ServingConfig()) as url:
        requests.post(f"{url}/v1/moderate", json={"question": "..."})
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from libra_guard.errors import ConfigError
from libra_guard.training.ray_runtime import free_port
from serving.api import create_api
from serving.auth import server_api_key
from serving.backend import LocalBackend
from serving.config import ServingConfig
from serving.model_source import description_of, load_source
from serving.observer import DecisionObserver, capture_sink
from serving.rollout.base import ModelTarget

START_TIMEOUT_S = 30.0


@contextmanager
def running_plain_server(
    target: ModelTarget,
    config: ServingConfig,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    api_key: str | None = None,
) -> Iterator[str]:
    """Serve ``target`` on ``host:port`` (a free port by default) until the block ends.

    Raises:
        ConfigError: the server did not start within ``START_TIMEOUT_S``.
    """
    from serving.judge_runner import JudgeRunner

    if api_key is None:
        api_key = server_api_key(host, config.auth_required)
    folder = load_source(target.source)
    runner = JudgeRunner(
        folder,
        torch_threads=config.torch_threads,
        max_windows=config.max_windows,
        explain_max_concurrent=config.explain_max_concurrent,
        canary_max_age_s=config.canary_max_age_s,
    )
    description = description_of(target.model, folder).model_copy(
        update={"max_chars": runner.max_text_chars, "window_tokens": runner.window_tokens}
    )
    backend = LocalBackend(runner, description, config)
    observer = DecisionObserver(capture=capture_sink(config))
    app = create_api(backend, config, api_key, observer=observer)
    port = port or free_port(host)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="plain-guard-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigError(f"the plain guard server did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
