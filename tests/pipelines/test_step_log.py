"""The quiet console of ``libra-guard run`` on real KFP local-runner tasks (one tiny component
each, no Ray): one line per step, the full output in the step's log file, ``verbose`` as
before, and a failed step's log tail on the console."""

# No ``from __future__ import annotations``: KFP reads the component's annotations as types.
from pathlib import Path

import pytest
from kfp import dsl

from pipelines.step_log import StepRecord, step_logs

pytestmark = pytest.mark.kfp


@dsl.component(base_image="python:3.11", packages_to_install=[], install_kfp_package=False)
def _talkative(rows: int, fail: bool, counted: dsl.Output[dsl.Dataset]) -> str:
    for index in range(rows):
        print(f"working on row {index}")
    if fail:
        raise ValueError("row 3 is broken [/oops]")
    counted.metadata.update({"rows": rows, "sha256": "f" * 64, "ratio": 0.123456})
    with open(counted.path, "w") as handle:
        handle.write("done")
    return "all good"


@pytest.fixture
def local_kfp(tmp_path: Path) -> Path:
    import kfp.local

    kfp.local.init(
        runner=kfp.local.SubprocessRunner(use_venv=False),
        pipeline_root=str(tmp_path / "kfp"),
        raise_on_error=False,
    )
    return tmp_path


def _run(folder: Path, *, fail: bool = False, verbose: bool = False):
    lines: list[str] = []
    with step_logs(folder, lines.append, verbose=verbose) as router:
        _talkative(rows=40, fail=fail)
    return lines, router.steps


def test_a_step_is_one_line_and_its_output_goes_to_its_log(
    local_kfp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, steps = _run(local_kfp / "run")
    console = capsys.readouterr().out
    assert "working on row" not in console  # nothing of the step reached the console
    assert "executor_input" not in console
    [line] = lines
    assert line.split()[:2] == ["ok", "talkative"]
    assert "counted: ratio=0.1235 rows=40" in line  # figures from the output metadata
    assert "Output=all good" in line
    assert "sha256" not in line
    [step] = steps
    assert step.status == "SUCCESS" and step.seconds > 0
    assert str(step.log_path) in line
    text = step.log_path.read_text("utf-8")
    assert "working on row 39" in text and "executor_input" in text
    assert "working on row 39" in (local_kfp / "run" / "pipeline.log").read_text("utf-8")


def test_verbose_streams_everything_as_kfp_does(
    local_kfp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, _ = _run(local_kfp / "run", verbose=True)
    console = capsys.readouterr().out
    assert "working on row 39" in console
    assert "Executing task" in console
    assert len(lines) == 1


def test_a_failed_step_shows_its_log_tail(
    local_kfp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, steps = _run(local_kfp / "run", fail=True)
    assert steps[0].status == "FAILURE"
    assert lines[0].split()[:2] == ["FAILED", "talkative"]
    assert "row 3 is broken [/oops]" in lines[1]
    assert "working on row 0" not in lines[1]  # a tail, not the whole log
    assert "row 3 is broken" not in capsys.readouterr().out


def test_figures_skip_hashes_and_stay_short() -> None:
    step = StepRecord(name="x", log_path=Path("x.log"), started=0.0)
    step.outputs = {"data": {"sha256": "a" * 64, "rows": 3}, "notes": "n" * 500}
    assert step.figures() == "data: rows=3"
    step.outputs = {f"output_{i}": {"value": 1.0} for i in range(20)}
    assert len(step.figures()) == 110 and step.figures().endswith("…")
