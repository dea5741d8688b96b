"""``OpenStreams``: the moderation streams one model replica holds, bounded in count and age.

Each open stream keeps a ``StreamingVerdict`` (the key-value cache of its prompt so far) in
the replica's memory until the ingress closes it. A client that vanishes without a close, or
an ingress replica that dies, would leave its cache behind, so the table has two bounds: a
stream unused for ``idle_timeout_s`` is dropped (checked whenever a stream opens), and past
``max_open`` streams a new one is refused (``StreamsFull``, the client retries) rather than
growing memory without end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


class StreamLost(KeyError):
    """The replica does not hold this stream (it closed, expired, or the replica restarted)."""


class StreamsFull(RuntimeError):
    """The replica holds ``max_open`` streams already; retry shortly."""


@dataclass
class _Entry:
    verdict: Any
    last_used: float = field(default_factory=time.monotonic)


class OpenStreams:
    """Open streams by id; ``get`` refreshes a stream's age."""

    def __init__(self, max_open: int, idle_timeout_s: float) -> None:
        self._max_open = max_open
        self._idle_timeout_s = idle_timeout_s
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def check_room(self) -> None:
        """Drop expired streams, then refuse when ``max_open`` remain.

        Raises:
            StreamsFull: no room for another stream.
        """
        now = time.monotonic()
        for stream_id in [
            key
            for key, entry in self._entries.items()
            if now - entry.last_used > self._idle_timeout_s
        ]:
            del self._entries[stream_id]
        if len(self._entries) >= self._max_open:
            raise StreamsFull(
                f"this replica holds {len(self._entries)} open streams (stream_max_open); "
                "retry shortly"
            )

    def add(self, stream_id: str, verdict: Any) -> None:
        self._entries[stream_id] = _Entry(verdict)

    def get(self, stream_id: str) -> Any:
        """The stream's verdict.

        Raises:
            StreamLost: no such stream here.
        """
        entry = self._entries.get(stream_id)
        if entry is None:
            raise StreamLost(
                "the stream is no longer open on the model replica (closed, idle past "
                "stream_idle_timeout_s, or the replica restarted); open a new one"
            )
        entry.last_used = time.monotonic()
        return entry.verdict

    def close(self, stream_id: str) -> None:
        self._entries.pop(stream_id, None)
