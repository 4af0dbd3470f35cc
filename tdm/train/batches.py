"""Turning dataset samples into batches on a device."""
from __future__ import annotations

from typing import Any, Sequence

import torch


def load_batch(dataset: Any, indices: Sequence[int]) -> list[dict[str, Any]]:
    """Read the samples at ``indices``."""
    return [dataset[i] for i in indices]


def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors (image (B,3,H,W), alpha (B,1,H,W), ...), keep strings as lists."""
    batch: dict[str, Any] = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        batch[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return batch


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Move the tensors of ``batch`` to ``device``."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
