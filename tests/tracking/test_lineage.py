"""Lineage tags: round trip, git commit fallback, printed chain."""

from __future__ import annotations

import re

from libra_guard.tracking.lineage import UNKNOWN, Lineage, format_lineage, git_commit
from libra_guard.tracking.model_version import ModelVersion


def test_lineage_round_trips_through_tags():
    lineage = Lineage(
        dataset_digests={"stage1": "a" * 64, "test": "c" * 64},
        pipeline_run_id="run-42",
        checkpoint_uri="s3://libra/runs/42/final",
        git_commit="0123abc",
        base_model="tiny",
        gate_decision="pass: all 4 threshold checks pass",
        levels={"safe_below": 0.1 + 0.2, "unsafe_from": 0.8125, "precision": 0.9},
        data_sources={"s3://libra-data/feedback/2026-11.jsonl": "d" * 64, "real.jsonl": "e" * 64},
    )
    tags = lineage.to_tags()
    assert tags["libra.dataset.stage1.sha256"] == "a" * 64
    assert tags["libra.levels.unsafe_from"] == "0.8125"
    assert tags["libra.pipeline_run_id"] == "run-42"
    assert "s3://libra-data/feedback/2026-11.jsonl" in tags["libra.data_sources"]
    assert Lineage.from_tags({**tags, "other": "ignored"}) == lineage


def test_unset_fields_are_not_tagged():
    tags = Lineage(git_commit="abc").to_tags()
    assert tags == {"libra.git_commit": "abc"}


def test_git_commit_of_this_checkout_or_unknown_outside_a_repository(tmp_path):
    commit = git_commit()
    assert commit == UNKNOWN or re.fullmatch(r"[0-9a-f]{40}", commit)
    assert git_commit(tmp_path) == UNKNOWN


def test_format_lineage_lists_the_chain():
    text = format_lineage(
        ModelVersion(
            "libra-guard",
            "2",
            ("champion",),
            {
                "gate_decision": "pass: no champion yet",
                "dataset_digests": {"stage1": "a" * 64},
                "data_sources": {"s3://libra-data/feedback/2026-11.jsonl": "f" * 64},
                "git_commit": "abc",
            },
        )
    )
    assert text.splitlines()[0] == "libra-guard version 2  (aliases: champion)"
    assert "  gate decision    pass: no champion yet" in text
    assert f"    stage1         {'a' * 64}" in text
    assert "  pipeline run     unknown" in text
    assert f"    {'f' * 64}  s3://libra-data/feedback/2026-11.jsonl" in text
