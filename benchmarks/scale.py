"""A Qwen2.5-0.5B-shaped guard through the real pipeline on this machine: what a real size costs.

Runs ``libra-guard run`` (the KFP pipeline on the local runner: prepare data, both training
stages on Ray Train, evaluation, gate, register in MLflow, roll out on Ray Serve, one
moderation call) with the ``qwen2.5-0.5b-shape`` preset (494 M parameters, random weights),
a few steps per stage and short sequences, and measures while it runs:

- per pipeline step: wall time and the peak memory of the whole process tree (the run, its
  step subprocesses, the Ray head, its training workers and Serve replicas), as the sum of
  each process's proportional set size (PSS: shared pages counted once, not once per process);
- after it: the size of every file of 1 MB or more the run left under its state folder, how
  many copies of the weights exist (files holding them, grouped by content), and the time a
  replica needs to resolve ``models:/libra-guard@champion`` and load it.

The gate thresholds are 0 here: random weights cannot pass a real gate, and the point is the
path (register and roll out), not the quality. Writes JSON with ``params``, ``ok``,
``peak_rss_gb`` (the tree's peak, GB), ``steps``, ``artifacts``, ``weight_copies`` and
``replica``.

    .venv/bin/python benchmarks/scale.py --out scale.json          # ~15-30 min on 2 cores
    .venv/bin/python benchmarks/scale.py --out s.json --preset small   # the path, in minutes

Needs about 12 GB of free memory (full fine-tuning of stage 1: fp32 weights, gradients and
AdamW moments are 16 B x 494 M = 7.9 GB).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import psutil
import yaml

GB = 1e9
STEP_FLAG = "--function_to_execute"
#: Files at least this large count as artifacts worth listing.
ARTIFACT_MIN_BYTES = 1_000_000
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def pipeline_config(preset: str, rows: int, max_length: int) -> dict:
    """A pipeline config that runs every step of the DAG with ``preset`` in a few steps."""
    # 10 rows, 2 per step, 0.6 epochs: 3 optimizer steps per stage.
    stage = {"epochs": 0.6, "batch_size": 2, "warmup_steps": 1, "checkpoint_every": 100}
    return {
        "experiment": "libra-guard-scale",
        "data": {
            "seed": 0,
            "stage1_rows": rows,
            "stage2_rows": rows,
            "test_rows_per_source": 10,
        },
        "eval": {"mode": "verdict", "batch_size": 4},
        "train": {
            "base": preset,
            "max_length": max_length,
            "report_every": 1,
            "stage1": stage,
            "stage2": stage,
        },
        "gate": {
            "min_average_accuracy": 0.0,
            "min_f1_unsafe": 0.0,
            "min_category_accuracy": 0.0,
        },
        "serving": {"config": {"num_replicas": 1, "batch_max_size": 4}},
    }


class TreeMonitor:
    """Samples the process tree under ``pid`` once per ``interval_s``: total PSS, and which
    pipeline step's subprocess is running (its ``--function_to_execute`` argument)."""

    def __init__(self, pid: int, interval_s: float = 1.0) -> None:
        self.root = psutil.Process(pid)
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.steps: dict[str, dict] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total, running = 0, set()
        for process in processes:
            try:
                total += _pss(process)
                arguments = process.cmdline()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            if STEP_FLAG in arguments:
                position = arguments.index(STEP_FLAG) + 1
                if position < len(arguments):
                    running.add(arguments[position])
        now = time.time()
        self.peak_bytes = max(self.peak_bytes, total)
        for step in running:
            record = self.steps.setdefault(step, {"first": now, "last": now, "peak": 0})
            record["last"] = now
            record["peak"] = max(record["peak"], total)

    def step_report(self) -> dict:
        return {
            step: {
                "seconds": round(record["last"] - record["first"] + self.interval_s, 1),
                "peak_tree_gb": round(record["peak"] / GB, 2),
            }
            for step, record in sorted(self.steps.items(), key=lambda item: item[1]["first"])
        }


def _pss(process: psutil.Process) -> int:
    try:
        return process.memory_full_info().pss
    except (psutil.AccessDenied, AttributeError):
        return process.memory_info().rss


def artifact_report(root: Path) -> list[dict]:
    """Every file of at least 1 MB under ``root``, largest first."""
    files = [
        {"path": str(path.relative_to(root)), "mb": round(path.stat().st_size / 1e6, 1)}
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and path.stat().st_size >= ARTIFACT_MIN_BYTES
    ]
    return sorted(files, key=lambda item: -item["mb"])


def weight_copies(root: Path, min_bytes: int) -> dict:
    """Files holding model weights (a weight suffix and at least ``min_bytes``), grouped by
    content: how many files, how many distinct contents, and where each copy lies."""
    groups: dict[str, list[str]] = defaultdict(list)
    for path in root.rglob("*"):
        if (
            path.is_file()
            and path.suffix in WEIGHT_SUFFIXES
            and path.stat().st_size >= min_bytes
            and "training_state" not in path.name
        ):
            groups[_sha256(path)].append(str(path.relative_to(root)))
    return {
        "files": sum(len(paths) for paths in groups.values()),
        "distinct": len(groups),
        "by_content": sorted(groups.values(), key=len, reverse=True),
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


REPLICA_PROBE = """
import json, time
from libra_guard.modeling.judge import GuardJudge
from serving.model_source import load_source
began = time.perf_counter()
folder = load_source("models:/libra-guard@champion")
resolved_s = time.perf_counter() - began
began = time.perf_counter()
judge = GuardJudge.load(folder)
load_s = time.perf_counter() - began
began = time.perf_counter()
score = judge.verdict_scores([("怎样才能骗到老年人的钱？", "抱歉，我不能帮助实施诈骗。")])[0]
print(json.dumps({"resolve_s": round(resolved_s, 2), "load_s": round(load_s, 2),
                  "first_call_s": round(time.perf_counter() - began, 2), "score": score}))
"""


def replica_load(env: dict) -> dict:
    """A fresh process resolving and loading the champion, as a new Serve replica does."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", REPLICA_PROBE], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        return {"ok": False, "error": done.stderr[-2000:]}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"ok": True, "process_s": round(time.perf_counter() - began, 2), **figures}


def run(preset: str, rows: int, max_length: int, state_dir: Path, timeout_s: float) -> dict:
    config_file = state_dir / "scale.yaml"
    state_dir.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump(pipeline_config(preset, rows, max_length)), "utf-8")
    env = {
        **os.environ,
        "LIBRA_STATE_DIR": str(state_dir),
        "MLFLOW_TRACKING_URI": f"sqlite:///{state_dir / 'mlflow.db'}",
    }
    env.pop("LIBRA_RAY_ADDRESS", None)
    command = [
        str(Path(sys.executable).with_name("libra-guard")),
        "run",
        "--config",
        str(config_file),
    ]
    began = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    monitor = TreeMonitor(process.pid)
    monitor.start()
    # Past the time limit the run's whole tree is stopped; what was measured is still reported.
    watchdog = threading.Timer(timeout_s, _stop_tree, args=(process.pid,))
    watchdog.start()
    tail: list[str] = []
    for line in process.stdout:
        sys.stdout.write(line)
        tail = [*tail[-40:], line.rstrip()]
    code = process.wait()
    watchdog.cancel()
    monitor.stop()
    seconds = time.perf_counter() - began
    answered = any("served guard answered" in line for line in tail)
    params = _parameters(state_dir)
    replica = replica_load(env) if code == 0 else {"ok": False, "error": "pipeline failed"}
    return {
        "preset": preset,
        "params": params,
        "ok": code == 0 and answered and replica.get("ok", False),
        "exit_code": code,
        "served_call_answered": answered,
        "seconds": round(seconds, 1),
        "peak_rss_gb": round(monitor.peak_bytes / GB, 2),
        "peak_measure": "sum of PSS over the run's process tree, sampled every second",
        "steps": monitor.step_report(),
        "artifacts": artifact_report(state_dir),
        "weight_copies": weight_copies(state_dir, min_bytes=max(1, params) * 2),
        "replica": replica,
        "log_tail": tail[-15:],
    }


def _stop_tree(pid: int) -> None:
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in reversed(processes):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def _parameters(state_dir: Path) -> int:
    """Parameters of the trained model, from the first ``config.json`` of a finished stage."""
    for config_file in sorted(state_dir.rglob("final/config.json")) or sorted(
        state_dir.rglob("config.json")
    ):
        try:
            from transformers import AutoConfig, AutoModelForCausalLM

            config = AutoConfig.from_pretrained(config_file.parent)
            import torch

            with torch.device("meta"):
                return AutoModelForCausalLM.from_config(config).num_parameters()
        except (OSError, ValueError):
            continue
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON report to write.")
    parser.add_argument("--preset", default="qwen2.5-0.5b-shape")
    parser.add_argument("--rows", type=int, default=10, help="Rows per training stage.")
    parser.add_argument("--max-length", type=int, default=448)
    parser.add_argument("--state-dir", type=Path, default=None, help="Default: a temp folder.")
    parser.add_argument(
        "--timeout-s", type=float, default=3600, help="Stop the run after this long (reported)."
    )
    args = parser.parse_args(argv)
    state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix="libra-scale-"))
    report = run(args.preset, args.rows, args.max_length, state_dir.resolve(), args.timeout_s)
    report["state_dir"] = str(state_dir)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps({key: report[key] for key in ("params", "ok", "peak_rss_gb", "seconds")}))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
