"""Exact and near-duplicate removal of queries: the paper's deduplication step.

Exact copies are found on the normalised text (``libra_guard.data.dedup.normalise_text``:
NFKC, whitespace, case). Near copies are found with MinHash LSH (``datasketch``) on character
shingles, because Chinese has no spaces to split words on; a query whose estimated Jaccard
similarity to an earlier kept query reaches the threshold is dropped. The first occurrence
always wins, so the outcome depends only on the input order.
"""

from __future__ import annotations

from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from libra_guard.data.dedup import normalise_text
from libra_guard.data.teacher.config import NearDuplicates


@dataclass(frozen=True)
class DroppedCopy:
    """A query removed as a copy of the kept query ``kept_id``."""

    item: dict
    kept_id: str
    reason: str


def shingles(text: str, size: int) -> set[str]:
    """Character ``size``-grams of the normalised text without spaces (the whole text when
    it is shorter)."""
    compact = normalise_text(text).replace(" ", "")
    if len(compact) <= size:
        return {compact}
    return {compact[i : i + size] for i in range(len(compact) - size + 1)}


def remove_copies(
    items: list[dict], settings: NearDuplicates, *, text_key: str = "query", id_key: str = "id"
) -> tuple[list[dict], list[DroppedCopy]]:
    """Keep the first of each exact or near-duplicate group; report the others."""
    index = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm)
    exact: dict[str, str] = {}
    kept: list[dict] = []
    dropped: list[DroppedCopy] = []
    for item in items:
        text = item[text_key]
        normal = normalise_text(text)
        if normal in exact:
            dropped.append(DroppedCopy(item, exact[normal], "exact duplicate"))
            continue
        signature = MinHash(num_perm=settings.num_perm)
        for shingle in shingles(text, settings.shingle_chars):
            signature.update(shingle.encode("utf-8"))
        similar = index.query(signature)
        if similar:
            dropped.append(DroppedCopy(item, min(similar), "near duplicate (MinHash)"))
            continue
        index.insert(item[id_key], signature)
        exact[normal] = item[id_key]
        kept.append(item)
    return kept, dropped
