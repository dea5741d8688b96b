"""Kill a ``libra-guard train`` process after its first stage-1 checkpoint, then run it again.

Shared by the resume tests of both engines: the first run is killed with its whole process
group (SIGKILL, as a node loss would), which must leave no published stage behind; the second
run, same command, must finish by resuming from that checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from libra_guard.data.io import write_jsonl
from libra_guard.data.schema import GuardRow
from libra_guard.training.publish import STAGE_INFO

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = (
    "import typer\n"
    "from libra_guard.cli.train import train\n"
    "app = typer.Typer()\n"
    "app.command()(train)\n"
    "app()\n"
)


def kill_then_resume(
    tmp_path: Path,
    synth_rows: list[GuardRow],
    config_yaml: str,
    ray_address: str,
    *,
    first_deadline_s: float,
    second_timeout_s: float,
) -> tuple[str, dict]:
    """Returns the second run's output and its published stage-1 info."""
    write_jsonl(synth_rows, tmp_path / "synth.jsonl")
    write_jsonl(synth_rows[:16], tmp_path / "real.jsonl")
    (tmp_path / "train.yaml").write_text(config_yaml, encoding="utf-8")
    command = [
        sys.executable, "-c", CLI,
        "--stage1", str(tmp_path / "synth.jsonl"), "--stage2", str(tmp_path / "real.jsonl"),
        "--out", str(tmp_path / "out"), "--config", str(tmp_path / "train.yaml"),
    ]  # fmt: skip
    env = {**os.environ, "LIBRA_RAY_ADDRESS": ray_address, "PYTHONPATH": str(REPO_ROOT)}
    snapshot = tmp_path / "out" / "checkpoints" / "stage1" / "checkpoint_manager_snapshot.json"

    first = subprocess.Popen(
        command, env=env, cwd=tmp_path, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + first_deadline_s
    while not snapshot.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert snapshot.exists(), "the first run wrote no checkpoint before the deadline"
    assert not (tmp_path / "out" / "stage1").exists(), "a killed run published a stage"

    second = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=second_timeout_s
    )
    output = second.stdout + second.stderr
    assert second.returncode == 0, output[-3000:]
    assert "stage1: resuming from the last checkpoint" in output
    info = json.loads((tmp_path / "out" / "stage1" / STAGE_INFO).read_text(encoding="utf-8"))
    assert (tmp_path / "out" / "final" / "config.json").is_file()
    return output, info
