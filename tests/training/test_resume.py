"""A killed ``libra-guard train`` resumes from its last checkpoint, not from step 0."""

from __future__ import annotations

import pytest

from tests.training.killed_run import kill_then_resume

pytestmark = pytest.mark.slow

CONFIG = """\
tiny: {vocab_size: 800, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1,
       num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 512}
max_length: 320
report_every: 2
stage1: {epochs: 6, batch_size: 8, checkpoint_every: 3, warmup_steps: 1}
stage2: {epochs: 1, batch_size: 8, checkpoint_every: 3, warmup_steps: 1}
"""


def test_killed_run_resumes_from_its_checkpoint(ray_address, synth_rows, tmp_path):
    output, info = kill_then_resume(
        tmp_path, synth_rows, CONFIG, ray_address, first_deadline_s=240, second_timeout_s=400
    )
    assert info["resumed_from_step"] >= 3
    assert f"resuming from checkpoint at step {info['resumed_from_step']}/48" in output
