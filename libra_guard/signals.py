"""SIGTERM as an exception, so cleanup in ``finally`` blocks runs when a run is stopped.

Python's default SIGTERM handling ends the process at once: a RayJob the step created or a
Ray head the run started would outlive it. Inside ``sigterm_raises()`` SIGTERM raises
``SystemExit(143)`` instead, and the usual unwinding does the cleanup.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """SIGTERM raises ``SystemExit`` in the main thread for the duration of the block
    (signal handlers can only be set there; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
