"""The smallest pipeline config that still runs every step for real (seconds per stage)."""

from __future__ import annotations

import socket

from pipelines.config import PipelineConfig


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


#: Small model dimensions: a forward pass over the tiny test set takes well under a second.
TINY_DIMS = {
    "vocab_size": 700,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 512,
}
#: Thresholds any model reaches, so the gate's verdict depends on the champion alone.
LENIENT_GATE = {"min_average_accuracy": 0.0, "min_f1_unsafe": 0.0, "min_category_accuracy": 0.0}
#: Thresholds no model reaches: the fail branch.
IMPOSSIBLE_GATE = {"min_average_accuracy": 1.0, "min_f1_unsafe": 1.0, "min_category_accuracy": 1.0}


def tiny_config(gate: dict | None = None, experiment: str = "libra-guard-test") -> PipelineConfig:
    """120 stage-1 rows, 60 stage-2 rows, 60 test rows, one short epoch per stage."""
    stage = {"epochs": 1.0, "batch_size": 16, "warmup_steps": 1, "checkpoint_every": 1000}
    return PipelineConfig.model_validate(
        {
            "experiment": experiment,
            "data": {"stage1_rows": 120, "stage2_rows": 60, "test_rows_per_source": 30},
            "eval": {"batch_size": 32},
            "train": {
                "tiny": TINY_DIMS,
                "max_length": 256,
                "threads_per_worker": 1,
                # The shortest path through the DAG: no rehearsal or validation passes.
                "stage2_replay": 0.0,
                "stage2_validation": 0.0,
                "stage1": stage,
                "stage2": {**stage, "method": "lora"},
            },
            "gate": gate if gate is not None else LENIENT_GATE,
            # A barely trained model scores near 0.5; a thin margin still leaves smoke rows.
            "serving": {"http_port": free_port(), "smoke_margin": 0.005},
        }
    )
