"""Names that become storage paths (S3 keys, registry model names) must stay inside their root.

A ``..`` segment in an S3 key or a model name turns ``root/<name>`` into a location outside
``root`` on a local disk (the model cache, MinIO's file-backed buckets, a fsspec local
mirror), so such names are refused before anything is written, with the name in the message.
"""

from __future__ import annotations

_DOT_SEGMENTS = {".", ".."}


def dot_segment_problem(name: str) -> str | None:
    """Why ``name`` cannot be used as a path below a root, or ``None`` when it can."""
    parts = name.replace("\\", "/").split("/")
    if any(part in _DOT_SEGMENTS for part in parts):
        return f"{name!r} has a '.' or '..' path segment, which would leave its folder"
    return None
