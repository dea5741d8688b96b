"""Progress of a long model run: a live bar on a terminal, periodic lines in a log.

Generating 256 tokens for Libra-Test's 5,720 rows takes hours on small hardware, so the user
must see the rate and the time left. A rich bar only renders on a terminal; under Kubeflow,
Ray or ``| tee`` the same figures go to stderr as one line every ``LINE_INTERVAL_S`` seconds
and once at the end.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

#: Seconds between two progress lines when stderr is not a terminal.
LINE_INTERVAL_S = 15.0


class RowProgress:
    """Counts rows done out of ``total``; use as a context manager and call ``advance``."""

    def __init__(self, description: str, total: int, console: Console | None = None) -> None:
        self.description = description
        self.total = total
        self.done = 0
        self.console = console or Console(stderr=True)
        self._started = time.monotonic()
        self._last_line = self._started
        self._bar: Progress | None = None
        self._task = None

    def __enter__(self) -> RowProgress:
        if self.console.is_terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def advance(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if self._bar is not None:
            self._bar.advance(self._task, rows)
        elif now - self._last_line >= LINE_INTERVAL_S or self.done >= self.total:
            self._last_line = now
            self.console.print(self.line(), highlight=False)

    def line(self) -> str:
        """``description: done/total rows (rate rows/s, about N s left)``."""
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        return (
            f"{self.description}: {self.done}/{self.total} rows "
            f"({rate:.2f} rows/s, about {left:.0f} s left)"
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
