"""The training sample format shared by every dataset (docs/CONTRACTS.md, Data)."""
from __future__ import annotations

from typing import TypedDict

import numpy as np
import torch


class Sample(TypedDict):
    """image (3,H,W) float in [-1,1]; alpha (1,H,W) float in [0,1]; text; source dataset name."""

    image: torch.Tensor
    alpha: torch.Tensor
    text: str
    source: str


def make_sample(image: np.ndarray, alpha: np.ndarray, text: str, source: str) -> Sample:
    """From (H,W,3) uint8 RGB and (H,W) float alpha in [0,1] to a ``Sample``."""
    img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 127.5 - 1.0
    a = torch.from_numpy(np.ascontiguousarray(alpha, dtype=np.float32)).clamp(0, 1)[None]
    return Sample(image=img, alpha=a, text=text, source=source)


def item_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of one item: depends only on (seed, index)."""
    return np.random.default_rng([int(seed), int(index)])
