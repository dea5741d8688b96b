"""A killed ``libra-guard train`` resumes from its last checkpoint, not from step 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from libra_guard.data.io import write_jsonl
from libra_guard.training.publish import STAGE_INFO

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = (
    "import typer\n"
    "from libra_guard.cli.train import train\n"
    "app = typer.Typer()\n"
    "app.command()(train)\n"
    "app()\n"
)
CONFIG = """\
tiny: {vocab_size: 800, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1,
       num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 512}
max_length: 320
report_every: 2
stage1: {epochs: 6, batch_size: 8, checkpoint_every: 3, warmup_steps: 1}
stage2: {epochs: 1, batch_size: 8, checkpoint_every: 3, warmup_steps: 1}
"""


def _command(tmp_path: Path) -> list[str]:
    return [
        sys.executable, "-c", CLI,
        "--stage1", str(tmp_path / "synth.jsonl"),
        "--stage2", str(tmp_path / "real.jsonl"),
        "--out", str(tmp_path / "out"),
        "--config", str(tmp_path / "train.yaml"),
    ]  # fmt: skip


def test_killed_run_resumes_from_its_checkpoint(ray_address, synth_rows, tmp_path):
    write_jsonl(synth_rows, tmp_path / "synth.jsonl")
    write_jsonl(synth_rows[:16], tmp_path / "real.jsonl")
    (tmp_path / "train.yaml").write_text(CONFIG, encoding="utf-8")
    env = {**os.environ, "LIBRA_RAY_ADDRESS": ray_address, "PYTHONPATH": str(REPO_ROOT)}
    snapshot = tmp_path / "out" / "checkpoints" / "stage1" / "checkpoint_manager_snapshot.json"

    first = subprocess.Popen(
        _command(tmp_path), env=env, cwd=tmp_path, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not snapshot.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert snapshot.exists(), "the first run wrote no checkpoint before the deadline"
    assert not (tmp_path / "out" / "stage1").exists()

    second = subprocess.run(
        _command(tmp_path), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=400
    )
    output = second.stdout + second.stderr
    assert second.returncode == 0, output[-3000:]
    assert "stage1: resuming from the last checkpoint" in output
    info = json.loads((tmp_path / "out" / "stage1" / STAGE_INFO).read_text(encoding="utf-8"))
    assert info["resumed_from_step"] >= 3
    assert f"resuming from checkpoint at step {info['resumed_from_step']}/48" in output
    assert (tmp_path / "out" / "final" / "config.json").is_file()
