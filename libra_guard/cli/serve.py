"""``libra-guard serve | moderate``: run the guard API on Ray Serve, and call it."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer
from rich.console import Console

from libra_guard.cli.errors import handle_errors
from libra_guard.settings import load_settings

console = Console()


@handle_errors
def serve(
    model: str = typer.Option(
        "models:/libra-guard@champion",
        "--model",
        help="A registry URI (models:/libra-guard@champion, models:/libra-guard/3) or a folder.",
    ),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="HTTP port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    serving_config: Path | None = typer.Option(
        None,
        "--serving-config",
        exists=True,
        dir_okay=False,
        help="YAML with a serving: block (ServingConfig: limits, batching, replicas).",
    ),
    config: Path | None = typer.Option(
        None, "--config", exists=True, dir_okay=False, help="Config YAML with a settings: block."
    ),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        min=1,
        max=65535,
        help="Prometheus port of the Ray head this command starts (metrics at /metrics).",
    ),
    capture: str | None = typer.Option(
        None, "--capture", help="Capture sampled decisions to s3://bucket/prefix or a folder."
    ),
    capture_rate: float | None = typer.Option(
        None, "--capture-rate", min=0.0, max=1.0, help="Share of all items captured."
    ),
) -> None:
    """Serve the guard API on the local Ray head (or LIBRA_RAY_ADDRESS) until Ctrl-C/SIGTERM.

    Stopping removes the application, and the Ray head too when this command started it.
    """
    from serving.config import load_serving_config
    from serving.service import start_service

    serving = with_capture(load_serving_config(serving_config), capture, capture_rate)
    console.print(f"starting the guard service for {model} …")
    # SIGTERM while starting interrupts like Ctrl-C, so start_service cleans up what it began.
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        service = start_service(
            model,
            serving,
            host=host,
            port=port,
            settings=load_settings(config),
            metrics_port=metrics_port,
        )
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        target = service.target
        console.print(
            f"[bold green]serving[/] {target.name} version {target.version} at {service.url} "
            f"(docs: {service.url}/docs)\n"
            f"roll new versions in with LIBRA_RAY_ADDRESS={service.ray_address}; "
            "Ctrl-C stops the service",
            highlight=False,
        )
        _say_lifecycle(service, serving, metrics_port)
        while not stop.wait(0.5):
            pass
    finally:
        console.print("stopping the guard service …")
        service.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def with_capture(serving, uri: str | None, rate: float | None):
    """``serving`` with ``--capture``/``--capture-rate`` applied (they override the file).

    Raises:
        ConfigError: ``--capture-rate`` without a capture location.
    """
    from libra_guard.errors import ConfigError
    from libra_guard.lifecycle.capture import CaptureConfig

    if uri is None and rate is None:
        return serving
    if uri is None and serving.capture is None:
        raise ConfigError("--capture-rate needs --capture URI (or capture: in --serving-config)")
    fields = serving.capture.model_dump() if serving.capture else {}
    if uri is not None:
        fields["uri"] = uri
    if rate is not None:
        fields["rate"] = rate
    return serving.model_copy(update={"capture": CaptureConfig(**fields)})


def _say_lifecycle(service, serving, metrics_port: int | None) -> None:
    if service.metrics_url:
        note = ""
        if metrics_port and not service.metrics_url.endswith(f":{metrics_port}/metrics"):
            note = " (the joined Ray cluster's own port; --metrics-port applies to a new head)"
        console.print(f"Prometheus metrics at {service.metrics_url}{note}", highlight=False)
    if serving.capture:
        console.print(
            f"capturing {serving.capture.rate:.1%} of decisions "
            f"({serving.capture.near_threshold_rate:.0%} near the threshold) to "
            f"{serving.capture.uri}",
            highlight=False,
        )


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@handle_errors
def moderate(
    question: str = typer.Argument(..., help="The human's question."),
    response: str | None = typer.Argument(
        None, help="The model's answer to judge; omit to judge the question itself."
    ),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="The guard service."),
    explain: bool = typer.Option(False, "--explain", help="Also print the critique."),
    stream: bool = typer.Option(
        False, "--stream", help="Send the response in pieces over the streaming route."
    ),
    piece_chars: int = typer.Option(50, "--piece-chars", min=1, help="--stream piece size."),
) -> None:
    """Ask a running guard service for a verdict (API key from LIBRA_API_KEY)."""
    from serving.client import moderate as call_moderate

    if stream:
        _moderate_stream(url, question, response, piece_chars)
        return
    result = call_moderate(url, question, response, explain=explain)
    colour = "red" if result["verdict"] == "unsafe" else "green"
    model = result.get("model", {})
    console.print(
        f"[bold {colour}]{result['verdict']}[/] ({result['label']})  "
        f"P(不安全)={result['score']:.4f}  task={result['task']}  "
        f"model={model.get('name')} v{model.get('version')}",
        highlight=False,
    )
    if explain and result.get("critique") is not None:
        console.print(result["critique"], markup=False, highlight=False)


def _moderate_stream(url: str, question: str, response: str | None, piece_chars: int) -> None:
    """One line per piece (score so far), then the final verdict."""
    from serving.client import moderate_stream, split_into_pieces

    if not response:
        raise typer.BadParameter("--stream judges a response: give RESPONSE too")
    for reply in moderate_stream(url, question, split_into_pieces(response, piece_chars)):
        colour = "red" if reply["verdict"] == "unsafe" else "green"
        prefix = "final" if reply.get("done") else f"{reply['chars']:>6} chars"
        console.print(
            f"{prefix}  [bold {colour}]{reply['verdict']}[/] level={reply['level']}  "
            f"P(不安全)={reply['score']:.4f}",
            highlight=False,
        )
