"""Training that survives a lost worker: SIGKILL of the Ray Train worker mid-stage, and the
stage still ends with all its steps, a model of the same shape, and one line saying what it
recovered from."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from safetensors import safe_open

from libra_guard.settings import Settings
from libra_guard.training.runner import prepare_base, run_stage
from libra_guard.training.storage import checkpoint_storage
from tests.training.configs import small_config

pytestmark = pytest.mark.slow


def _shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    with safe_open(str(folder / "model.safetensors"), framework="pt") as weights:
        names = weights.keys()  # safe_open is not iterable
        return {name: tuple(weights.get_slice(name).get_shape()) for name in names}


def _kill_worker_after_first_checkpoint(
    address: str, storage, killed: list[int], stop: threading.Event
):
    """Wait for the stage's first checkpoint, then SIGKILL its Ray Train worker process.

    The state API gets the session head's GCS address: without one it resolves ``auto``
    (ray/dashboard/utils.py, ``get_address_for_submission_client``), which fails with "Found
    multiple active Ray instances" when another Ray (a ``make demo``) runs on the machine.
    """
    from ray.util.state import list_actors

    while not stop.is_set() and not storage.has_snapshot():
        time.sleep(0.2)
    while not stop.is_set():
        workers = list_actors(
            address=address,
            filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")],
        )
        if workers:
            os.kill(int(workers[0]["pid"]), signal.SIGKILL)
            killed.append(int(workers[0]["pid"]))
            return
        time.sleep(0.2)


def test_a_killed_worker_is_replaced_and_the_stage_finishes(ray_address, synth_rows, tmp_path):
    config = small_config(stage1=small_config().stage1.model_copy(update={"epochs": 6}))
    assert config.max_failures > 0  # retrying is the default
    source = prepare_base(config, synth_rows, tmp_path)
    storage = checkpoint_storage(None, tmp_path, "stage1", Settings())
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(
        target=_kill_worker_after_first_checkpoint,
        args=(ray_address, storage, killed, stop),
        daemon=True,
    )
    killer.start()
    lines: list[str] = []
    try:
        outcome = run_stage("stage1", config, synth_rows, source, tmp_path, log=lines.append)
    finally:
        stop.set()
        killer.join(timeout=30)

    assert killed, "the stage finished before its worker could be killed"
    total_steps = 6 * len(synth_rows) // 8
    assert outcome.steps == total_steps
    assert 0 < outcome.resumed_from_step < total_steps
    recovered = [line for line in lines if "recovered from a lost or failed worker" in line]
    assert recovered == [
        f"stage1: recovered from a lost or failed worker: Ray Train restarted the workers and "
        f"they resumed from the checkpoint at step {outcome.resumed_from_step} of {total_steps} "
        f"(retries allowed: max_failures={config.max_failures})"
    ]
    # full training keeps the architecture: the same tensors, the same shapes as the start
    assert _shapes(Path(outcome.model_dir)) == _shapes(Path(source))
