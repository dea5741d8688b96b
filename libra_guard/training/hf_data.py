"""The Hugging Face engine's data: tokenised rows as a map-style dataset, and their collator.

The rows are encoded by ``features.encode_row`` exactly as the native loop encodes them
(prompt positions labelled ``-100``: the answer-only loss) and padded by ``features.collate``,
so both engines train on the same tensors, in the same order (``batch_order``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

from libra_guard.modeling.features import TrainingExample, collate


class ExampleDataset(Dataset):
    """Training examples as ``{"input_ids": [...], "labels": [...]}`` items."""

    def __init__(self, examples: Sequence[TrainingExample]) -> None:
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        example = self.examples[index]
        return {"input_ids": example.input_ids, "labels": example.labels}


class GuardCollator:
    """Right-pads a batch of ``ExampleDataset`` items with ``features.collate``."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, items: Sequence[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        examples = [
            TrainingExample(item["input_ids"], item["labels"], truncated=False) for item in items
        ]
        return collate(examples, self.pad_token_id)
