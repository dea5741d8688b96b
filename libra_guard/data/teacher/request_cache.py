"""Finished requests, keyed by the hash of what was asked, stored beside the output.

A killed run loses nothing it already paid for: every successful reply is written to
``<cache dir>/<key[:2]>/<key>.json`` (temporary name, then an atomic rename, so two Ray workers
never see half a file) before the row moves on, and a rerun with the same config and seed asks
the same questions and finds every answer here. Failed requests are not stored: a rerun tries
them again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from libra_guard.atomic import write_file_atomic


def request_key(url: str, body: dict) -> str:
    """sha256 of the URL and the request body, as canonical JSON (sorted keys)."""
    canonical = json.dumps({"url": url, "body": body}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RequestCache:
    """A folder of replies, one JSON file per request key."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The stored reply, or ``None`` (absent, or unreadable: then it is asked again)."""
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, reply: dict) -> None:
        """Store one reply atomically."""
        write_file_atomic(self._path(key), json.dumps(reply, ensure_ascii=False))
