"""One line per pipeline step on the console; each step's full log in a file of its own.

How KFP's local runner talks (kfp 2.17, ``kfp/local``): ``task_dispatcher.
run_single_task_implementation`` frames every task with log records written by a handler on
``sys.stdout`` (``logging_utils.local_logger_context``): "Executing task 'NAME'", "Task 'NAME'
finished with status SUCCESS|FAILURE", then "Task 'NAME' outputs:" with each output artifact's
name, uri and metadata, and a horizontal rule. In between, ``subprocess_task_handler.
run_local_subprocess`` streams the step's stdout and stderr, merged, line by line through
``print`` (indented by ``logging_utils.indented_print``): the executor's JSON, the step's own
prints, Ray's and MLflow's logs. Everything therefore arrives on ``sys.stdout``;
``StepLog`` takes its place for the duration of the pipeline call, writes every line to
``pipeline.log`` and the current step's ``STEP.log`` under the run folder, and reports each
step in one line: status, duration, the figures its outputs' metadata carry, and its log file.
With ``verbose`` every line also goes to the console as before.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

Log = Callable[[str], None]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: KFP's own records start with its formatter's time and level ("12:00:01.234 - INFO - ");
#: the step's streamed lines are indented, so a step printing these words cannot fake them.
_RECORD = r"^\d\d:\d\d:\d\d\.\d+ - [A-Z]+ - "
_STARTED = re.compile(_RECORD + r"Executing task '(?P<step>[^']+)'")
_FINISHED = re.compile(_RECORD + r"Task '(?P<step>[^']+)' finished with status (?P<status>\w+)")
_ARTIFACT = re.compile(r"^(?P<key>\w+): \w+\( name='")
_METADATA = re.compile(r"^metadata=(?P<dict>\{.*\}) \)$")
_PARAMETER = re.compile(r"^(?P<key>\w+): (?P<value>.+)$")
_RULE = re.compile(r"^-{20,}$")
#: Metadata keys that say nothing at a glance (hashes, locations, ids).
_HIDDEN_KEYS = ("sha256", "digest", "uri", "path", "run_id", "display_name")
#: Longest figures text on a step's line.
FIGURES_WIDTH = 110
#: Lines of a failed step's log shown on the console.
FAILURE_TAIL = 25


@dataclass
class StepRecord:
    """What one executed step did, as the local runner reported it."""

    name: str
    log_path: Path
    started: float
    status: str = "RUNNING"
    seconds: float = 0.0
    #: Output name -> the artifact's metadata, or the parameter's value as printed.
    outputs: dict[str, object] = field(default_factory=dict)

    def figures(self) -> str:
        """The outputs' short scalar figures, e.g. ``evaluation: average=0.8 n=60``."""
        parts = []
        for name, value in self.outputs.items():
            if isinstance(value, dict):
                shown = [
                    f"{key}={_short(item)}" for key, item in value.items() if _shown(key, item)
                ]
                if shown:
                    parts.append(f"{name}: {' '.join(shown)}")
            elif _shown(name, value):
                parts.append(f"{name}={_short(value)}")
        text = "; ".join(parts)
        return text if len(text) <= FIGURES_WIDTH else text[: FIGURES_WIDTH - 1] + "…"


def _shown(key: str, value: object) -> bool:
    if any(hidden in key for hidden in _HIDDEN_KEYS):
        return False
    return isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 60)


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class StepLog(io.TextIOBase):
    """A stand-in for ``sys.stdout`` during a local pipeline run (see the module docstring).

    Args:
        folder: the run folder; ``pipeline.log`` and one ``STEP.log`` per step go there.
        log: where the one-line reports go (``print`` or the CLI's console).
        console: the real standard output, for ``verbose`` and for ``log`` while redirected.
        verbose: also copy every line to ``console``.
    """

    def __init__(self, folder: Path, log: Log, console: TextIO, *, verbose: bool = False):
        super().__init__()
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log_function = log
        self.console = console
        self.verbose = verbose
        self.steps: list[StepRecord] = []
        self._pending = ""
        self._current: StepRecord | None = None
        self._step_file: TextIO | None = None
        self._last_artifact: str | None = None
        self._all = (folder / "pipeline.log").open("a", encoding="utf-8")

    @property
    def pipeline_log(self) -> Path:
        return self.folder / "pipeline.log"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.verbose:
            self.console.write(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._line(_ANSI.sub("", line))
        return len(text)

    def flush(self) -> None:
        if self.verbose:
            self.console.flush()
        self._all.flush()
        if self._step_file:
            self._step_file.flush()

    def emit(self, message: str) -> None:
        """Report ``message`` on the real console (``log`` may itself print to stdout)."""
        self._all.write(message + "\n")
        with contextlib.redirect_stdout(self.console):
            self.log_function(message)

    def close_run(self) -> None:
        """Report a step still open (the run stopped inside it) and close the files."""
        if self._pending:
            self._line(_ANSI.sub("", self._pending))
            self._pending = ""
        self._end_step()
        self._all.close()

    def _line(self, line: str) -> None:
        self._all.write(line + "\n")
        started = _STARTED.search(line)
        if started:
            self._end_step()
            self._begin_step(started["step"])
        step = self._current
        if step is None:
            return
        assert self._step_file is not None
        self._step_file.write(line + "\n")
        finished = _FINISHED.search(line)
        if finished and finished["step"] == step.name:
            step.status = finished["status"]
            step.seconds = time.monotonic() - step.started
        elif step.status != "RUNNING":
            self._read_output_line(step, line.strip())

    def _begin_step(self, name: str) -> None:
        path = self.folder / f"{name}.log"
        self._current = StepRecord(name=name, log_path=path, started=time.monotonic())
        self._step_file = path.open("w", encoding="utf-8")
        self._last_artifact = None

    def _read_output_line(self, step: StepRecord, line: str) -> None:
        if _RULE.match(line):
            self._end_step()
            return
        artifact = _ARTIFACT.match(line)
        metadata = _METADATA.match(line)
        if artifact:
            self._last_artifact = artifact["key"]
            step.outputs[artifact["key"]] = {}
        elif metadata and self._last_artifact:
            with contextlib.suppress(ValueError, SyntaxError):
                step.outputs[self._last_artifact] = ast.literal_eval(metadata["dict"])
        elif (parameter := _PARAMETER.match(line)) and not line.startswith("Task "):
            with contextlib.suppress(ValueError, SyntaxError):
                step.outputs[parameter["key"]] = ast.literal_eval(parameter["value"])

    def _end_step(self) -> None:
        step, self._current = self._current, None
        if step is None:
            return
        assert self._step_file is not None
        self._step_file.close()
        self._step_file = None
        if step.status == "RUNNING":
            step.status = "STOPPED"
            step.seconds = time.monotonic() - step.started
        self.steps.append(step)
        mark = {"SUCCESS": "ok", "FAILURE": "FAILED"}.get(step.status, step.status)
        figures = step.figures()
        self.emit(
            f"  {mark:<6} {step.name:<17} {step.seconds:6.1f}s  "
            + (f"{figures}  " if figures else "")
            + f"(log: {step.log_path})"
        )
        if step.status != "SUCCESS":
            tail = step.log_path.read_text(encoding="utf-8").splitlines()[-FAILURE_TAIL:]
            self.emit("\n".join(f"    | {line}" for line in tail))


@contextlib.contextmanager
def step_logs(folder: Path, log: Log, *, verbose: bool = False) -> Iterator[StepLog]:
    """Route ``sys.stdout`` through a ``StepLog`` for the block; see the module docstring."""
    router = StepLog(folder, log, sys.stdout, verbose=verbose)
    try:
        with contextlib.redirect_stdout(router):
            yield router
    finally:
        router.close_run()
