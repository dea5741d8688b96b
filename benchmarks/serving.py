"""Serving benchmark: what the fast verdict and Ray Serve's batching buy, measured side by
side in one run on the same model.

(a) ``verdict`` (one forward pass, P(不安全) at the verdict position) against ``generate``
    (the paper's greedy JSON protocol, scored by the paper's rule): speed ratio and how often
    the two verdicts agree (skipped for ``--preset``: random weights generate nothing useful);
(b) the same API three ways: Ray Serve with dynamic batching, Ray Serve without batching, and
    a plain single-process FastAPI app (no Ray); throughput and p50/p99 latency of
    single-item requests at several client concurrencies, all on 127.0.0.1.

The same CPU budget for every server: each runs in processes of its own (the plain server
too), apart from the client threads, on the same cores, with one torch thread for the model,
so the comparison is of serving, not of core counts. The load average before and after is
recorded: on a shared machine the figures move with it, the ratios less. Everything is
bounded: a fixed number of requests per level and a time cap.

Usage::

    .venv/bin/python benchmarks/serving.py --model runs/demo/model/final     # ~3-5 min, 2 CPUs
    .venv/bin/python benchmarks/serving.py --preset small --out /tmp/serving-small.json
    .venv/bin/python benchmarks/serving.py --model models:/libra-guard@champion \
        --rows 48 --requests 96 --concurrency 1 4 16 --out /tmp/serving-bench.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from rich.console import Console
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from libra_guard.data.io import read_rows  # noqa: E402
from libra_guard.data.schema import SAFE, UNSAFE  # noqa: E402
from libra_guard.data.synth import generate  # noqa: E402
from libra_guard.evaluation.scoring import score_text  # noqa: E402
from serving.config import ServingConfig  # noqa: E402
from serving.model_source import load_source, target_of  # noqa: E402
from serving.plain import free_port, running_plain_server  # noqa: E402

console = Console()
#: Presets whose shape ``--preset`` builds: ``tiny`` is the demo model's shape.
BENCH_PRESETS = ("tiny", "small")
#: Per concurrency level, stop sending after this many seconds even if requests remain.
LEVEL_CAP_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    model_arg = parser.add_mutually_exclusive_group(required=True)
    model_arg.add_argument("--model", help="Model folder or models:/ URI.")
    model_arg.add_argument(
        "--preset",
        choices=sorted(BENCH_PRESETS),
        help="Build this preset's shape from config (random weights: speed only; (a) skipped).",
    )
    parser.add_argument("--data", type=Path, help="JSONL rows to use (default: synthetic).")
    parser.add_argument("--rows", type=int, default=32, help="Rows for verdict vs generate.")
    parser.add_argument("--requests", type=int, default=64, help="Requests per level.")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--out", type=Path, help="Write the figures as JSON here.")
    args = parser.parse_args()

    rows = read_rows(str(args.data)) if args.data else generate(args.rows, seed=7).rows
    rows = rows[: args.rows]
    pairs = [(row.question, row.response) for row in rows]
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as scratch:
        source = args.model or str(build_preset(args.preset, rows, Path(scratch)))
        model = target_of(source)
        report = {"model": model.model.to_dict(), "preset": args.preset, "rows": len(rows)}
        report["load_average_before"] = os.getloadavg()
        if args.preset is None:
            report["verdict_vs_generate"] = verdict_vs_generate(
                load_source(model.source), pairs, args.max_new_tokens
            )
        report["batching_ceiling"] = batching_ceiling(load_source(model.source), pairs)
        report["serving"] = compare_servers(model, pairs, args.requests, args.concurrency)
        report["load_average_after"] = os.getloadavg()
    print_tables(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        partial = args.out.with_name(f".{args.out.name}.partial")
        partial.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        partial.replace(args.out)
        console.print(f"figures written to {args.out}")


def build_preset(name: str, rows: list, folder: Path) -> Path:
    """A guard of preset ``name``'s shape (its tokenizer trained on ``rows``, random weights):
    the demo model's shape for ``tiny``; serving speed depends on the shape, not the weights."""
    from libra_guard.modeling.factory import build_tiny_base
    from libra_guard.modeling.presets import PRESETS
    from libra_guard.training.runner import guard_corpus

    console.print(f"building the {name} preset's shape …")
    return build_tiny_base(guard_corpus(rows * 4), PRESETS[name], folder / name)


def verdict_vs_generate(folder: Path, pairs: list, max_new_tokens: int) -> dict:
    """Seconds per row of each way, and the share of rows where their verdicts agree."""
    import torch

    from libra_guard.modeling.judge import GuardJudge

    torch.set_num_threads(1)
    judge = GuardJudge.load(folder)
    judge.verdict_scores(pairs[:2])  # warm-up
    console.print(f"(a) verdict vs generate on {len(pairs)} rows …")
    started = time.perf_counter()
    scores = judge.verdict_scores(pairs, batch_size=16)
    verdict_s = time.perf_counter() - started
    started = time.perf_counter()
    answers = judge.generate(pairs, max_new_tokens=max_new_tokens, batch_size=16)
    generate_s = time.perf_counter() - started
    by_score = [UNSAFE if score >= 0.5 else SAFE for score in scores]
    by_text = [score_text(answer) for answer in answers]
    agree = sum(a == b for a, b in zip(by_score, by_text, strict=True))
    return {
        "verdict_s_per_row": verdict_s / len(pairs),
        "generate_s_per_row": generate_s / len(pairs),
        "speedup": generate_s / verdict_s,
        "agreement": agree / len(pairs),
        "unparseable_generations": sum(v is None for v in by_text),
        "max_new_tokens": max_new_tokens,
    }


def batching_ceiling(folder: Path, pairs: list, batch: int = 16, repeats: int = 3) -> dict:
    """Model seconds per item, one pass per item (the plain server) against passes of
    ``batch`` grouped by length (a Serve replica): the most batching can buy on one torch
    thread, whatever the serving around it costs."""
    import torch

    from libra_guard.modeling.judge import GuardJudge
    from serving.bucketing import length_buckets

    torch.set_num_threads(1)
    judge = GuardJudge.load(folder)
    items = (pairs * (1 + batch // max(1, len(pairs))))[: max(batch, len(pairs))]

    def one_by_one() -> None:
        for pair in items:
            judge.verdict_windows([pair], batch_size=1)

    def bucketed() -> None:
        for bucket in length_buckets(items, batch, 4096):
            judge.verdict_windows([items[i] for i in bucket], batch_size=batch)

    figures = {}
    for name, work in (("one_by_one", one_by_one), ("batched", bucketed)):
        work()  # warm-up
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        figures[f"{name}_ms_per_item"] = 1000 * statistics.median(times) / len(items)
    figures["ceiling"] = figures["one_by_one_ms_per_item"] / figures["batched_ms_per_item"]
    console.print(
        f"model only: {figures['one_by_one_ms_per_item']:.1f} ms/item one by one, "
        f"{figures['batched_ms_per_item']:.1f} ms/item batched: at most "
        f"{figures['ceiling']:.2f}x from batching"
    )
    return figures


def compare_servers(model, pairs: list, per_level: int, levels: list[int]) -> dict:
    """Load figures of the three servers, one after the other, on the same model."""
    import ray

    from libra_guard.training.ray_runtime import free_port as _free_port
    from serving.rollout.base import roll_out
    from serving.rollout.local import LocalServeRollout

    base = {"torch_threads": 1, "model_num_cpus": 1.0, "max_items": 8}
    results: dict[str, list[dict]] = {}
    with plain_server_process(model.source, base) as url:
        results["plain FastAPI (1 process)"] = load_levels(url, pairs, per_level, levels)
    ray.init(
        num_cpus=2,
        include_dashboard=True,
        dashboard_host="127.0.0.1",
        dashboard_port=_free_port(),
        log_to_driver=False,
    )
    target = model
    try:
        for label, batching in (("Ray Serve, batching", True), ("Ray Serve, no batching", False)):
            config = ServingConfig(**base, batching=batching, batch_max_size=16)
            rollout = LocalServeRollout(config, port=free_port())
            rollout.start_serve()
            console.print(f"starting {label} …")
            result = roll_out(rollout, target, [])
            if not result.served:
                raise SystemExit(f"{label} did not start: {result.reason}")
            results[label] = load_levels(rollout.url, pairs, per_level, levels)
            rollout.stop()
            from ray import serve

            serve.shutdown()
    finally:
        ray.shutdown()
    return results


@contextmanager
def plain_server_process(source: str, config: dict) -> Iterator[str]:
    """The plain server in a process of its own, as every Serve server is: in this process it
    would share one interpreter lock with the client threads and be measured against them."""
    context = multiprocessing.get_context("spawn")
    port = free_port()
    ready, stop = context.Event(), context.Event()
    process = context.Process(
        target=_run_plain, args=(source, config, port, ready, stop), name="plain-guard"
    )
    process.start()
    try:
        if not ready.wait(timeout=300):
            raise SystemExit("the plain server did not start within 300 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        process.join(timeout=30)


def _run_plain(source: str, config: dict, port: int, ready, stop) -> None:
    with running_plain_server(target_of(source), ServingConfig(**config), port=port):
        ready.set()
        stop.wait()


def load_levels(url: str, pairs: list, per_level: int, levels: list[int]) -> list[dict]:
    """Throughput and latency percentiles at each client concurrency."""
    figures = []
    for clients in levels:
        send(url, pairs, clients, min(8, per_level))  # warm-up
        latencies, failures, seconds = send(url, pairs, clients, per_level)
        ordered = sorted(latencies)
        figure = {
            "concurrency": clients,
            "requests": len(latencies),
            "failures": failures,
            "throughput_rps": len(latencies) / seconds if seconds else 0.0,
            "p50_ms": 1000 * statistics.median(ordered) if ordered else None,
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
            if ordered
            else None,
        }
        console.print(
            f"  {url} c={clients}: {figure['throughput_rps']:.1f} req/s, "
            f"p50 {figure['p50_ms']:.0f} ms, p99 {figure['p99_ms']:.0f} ms, {failures} failed"
        )
        figures.append(figure)
    return figures


def send(url: str, pairs: list, clients: int, total: int) -> tuple[list[float], int, float]:
    """``total`` single-item requests from ``clients`` threads; latencies, failures, seconds."""
    lock = threading.Lock()
    counter = iter(range(total))
    latencies: list[float] = []
    failures = [0]
    deadline = time.monotonic() + LEVEL_CAP_S

    def client() -> None:
        with requests.Session() as session:
            while time.monotonic() < deadline:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                question, response = pairs[index % len(pairs)]
                started = time.perf_counter()
                try:
                    answer = session.post(
                        f"{url}/v1/moderate",
                        json={"question": question, "response": response},
                        timeout=60,
                    )
                    ok = answer.status_code == 200
                except requests.RequestException:
                    ok = False
                with lock:
                    if ok:
                        latencies.append(time.perf_counter() - started)
                    else:
                        failures[0] += 1

    started = time.perf_counter()
    run_threads(client, clients)
    return latencies, failures[0], time.perf_counter() - started


def run_threads(target: Callable[[], None], count: int) -> None:
    threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LEVEL_CAP_S + 30)


def print_tables(report: dict) -> None:
    figures = report.get("verdict_vs_generate")
    if figures:
        table = Table(title=f"(a) verdict vs generate, {report['rows']} rows")
        for column in ("verdict s/row", "generate s/row", "speed-up", "agreement", "unparseable"):
            table.add_column(column, justify="right")
        table.add_row(
            f"{figures['verdict_s_per_row']:.4f}",
            f"{figures['generate_s_per_row']:.4f}",
            f"{figures['speedup']:.1f}x",
            f"{figures['agreement']:.1%}",
            str(figures["unparseable_generations"]),
        )
        console.print(table)
    loads = [report["load_average_before"], report["load_average_after"]]
    shown = " -> ".join("/".join(f"{value:.1f}" for value in load) for load in loads)
    table = Table(
        title=f"(b) single-item requests on 127.0.0.1, model {report.get('preset') or 'given'}, "
        f"load average (1/5/15 min) {shown}"
    )
    for column in ("server", "clients", "req/s", "p50 ms", "p99 ms", "failed", "vs plain"):
        table.add_column(column, justify="right" if column != "server" else "left")
    plain = {f["concurrency"]: f for f in report["serving"]["plain FastAPI (1 process)"]}
    for server, levels in report["serving"].items():
        for figure in levels:
            baseline = plain[figure["concurrency"]]["throughput_rps"]
            ratio = figure["throughput_rps"] / baseline if baseline else float("nan")
            table.add_row(
                server,
                str(figure["concurrency"]),
                f"{figure['throughput_rps']:.1f}",
                f"{figure['p50_ms']:.0f}",
                f"{figure['p99_ms']:.0f}",
                str(figure["failures"]),
                f"{ratio:.2f}x",
            )
    console.print(table)


if __name__ == "__main__":
    main()
