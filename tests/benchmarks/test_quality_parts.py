"""The quality benchmark's parts: the subcategory-held-out split keeps whole subcategories on one
side, and the seed summary reports mean and spread and checks the issue's targets."""

from __future__ import annotations

import json

import pytest

from benchmarks.quality_summary import main as quality_summary_main
from benchmarks.quality_summary import summarize, summary_lines
from benchmarks.subcategory_split import split_by_subcategory
from libra_guard.data.schema import SAFE, GuardRow


def _rows() -> list[GuardRow]:
    return [
        GuardRow(
            id=f"r{index}",
            source="jade",
            category_name="违法犯罪",
            sub_category_name=f"sub-{index % 7}",
            question=f"问题{index}",
            response=f"回答{index}",
            label=SAFE,
        )
        for index in range(70)
    ]


def test_held_out_subcategories_are_never_trained_on() -> None:
    train, test = split_by_subcategory(_rows(), 0.2, seed=3)
    assert len(train) + len(test) == 70
    assert len(test) >= 14
    assert not {row.sub_category_name for row in train} & {row.sub_category_name for row in test}
    again = split_by_subcategory(_rows(), 0.2, seed=3)[1]
    assert [row.id for row in again] == [row.id for row in test]
    other = split_by_subcategory(_rows(), 0.2, seed=4)[1]
    assert {r.sub_category_name for r in other} != {r.sub_category_name for r in test}


def test_one_subcategory_cannot_be_split() -> None:
    rows = [row.model_copy(update={"sub_category_name": "only"}) for row in _rows()]
    with pytest.raises(ValueError, match="two subcategories"):
        split_by_subcategory(rows, 0.2, seed=0)


def _result(guard: float, base: float) -> dict:
    figures = {"f1_safe": 0.5, "f1_unsafe": 0.5}
    return {"guard": {"accuracy": guard, **figures}, "baseline": {"accuracy": base, **figures},
            "n": 100}  # fmt: skip


def test_summary_gives_mean_and_spread_and_checks_the_targets() -> None:
    per_seed = {
        0: {"(a) jade-v3-medium (all)": _result(0.60, 0.58),
            "(b) jade-v3-medium (20% held out)": _result(0.96, 1.0)},
        1: {"(a) jade-v3-medium (all)": _result(0.56, 0.58),
            "(b) jade-v3-medium (20% held out)": _result(0.99, 0.99)},
    }  # fmt: skip
    summary = summarize(per_seed)
    transfer = summary["(a) jade-v3-medium (all)"]["guard"]["accuracy"]
    assert transfer["mean"] == pytest.approx(0.58)
    assert transfer["stdev"] == pytest.approx(0.0283, abs=1e-4)
    assert (transfer["min"], transfer["max"]) == (0.56, 0.60)
    assert summary["targets_met"] == {
        "(a) jade-v3-medium (all)": True,  # 0.58 >= 0.58
        "(b) jade-v3-medium (20% held out)": True,  # mean 0.975 >= 0.97
    }
    assert summary["(a) jade-v3-medium (all)"]["seeds"] == 2


def test_a_seed_stopped_early_counts_only_where_it_finished(tmp_path, capsys) -> None:
    finished = {"(a) jade-v3-medium (all)": _result(0.60, 0.58),
                "(b) jade-v3-medium (20% held out)": _result(0.90, 1.0)}  # fmt: skip
    stopped = {"(a) jade-v3-medium (all)": _result(0.70, 0.58)}
    paths = []
    for seed, results in ((0, finished), (1, stopped)):
        paths.append(tmp_path / f"seed-{seed}.json")
        paths[-1].write_text(json.dumps({"seed": seed, "results": results}), encoding="utf-8")
    summary = summarize({0: finished, 1: stopped})
    assert summary["(a) jade-v3-medium (all)"]["seeds"] == 2
    assert summary["(a) jade-v3-medium (all)"]["guard"]["accuracy"]["mean"] == pytest.approx(0.65)
    held_out = summary["(b) jade-v3-medium (20% held out)"]
    assert held_out["seeds"] == 1 and held_out["guard"]["accuracy"]["mean"] == 0.90
    assert summary["targets_met"]["(b) jade-v3-medium (20% held out)"] is False
    lines = summary_lines(summary)
    assert "(b) jade-v3-medium (20% held out) (n=100, seeds=1): guard 90.00" in lines[1]
    # The command line combines the per-seed files the benchmark writes into the same summary.
    assert quality_summary_main([str(path) for path in paths]) == 0
    assert lines[1] in capsys.readouterr().out


def test_runs_of_one_seed_merge_and_the_later_file_wins(tmp_path, capsys) -> None:
    first = {"(a) jade-v3-medium (all)": _result(0.70, 0.58),
             "(b) jade-v3-medium (20% held out)": _result(0.90, 1.0)}  # fmt: skip
    rerun = {"(b) jade-v3-medium (20% held out)": _result(0.98, 1.0)}
    paths = []
    for name, results in (("first", first), ("rerun", rerun)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps({"seed": 0, "results": results}), encoding="utf-8")
    assert quality_summary_main([str(path) for path in paths]) == 0
    out = capsys.readouterr().out
    assert "(a) jade-v3-medium (all) (n=100, seeds=1): guard 70.00" in out
    assert "(b) jade-v3-medium (20% held out) (n=100, seeds=1): guard 98.00" in out
    assert "target (b) jade-v3-medium (20% held out): met" in out
