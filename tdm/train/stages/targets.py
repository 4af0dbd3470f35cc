"""Targets shared by the stages: region labels, the mask M and their 1/8-grid versions.

The encoders (``tdm.forward.encode_prompt`` / ``encode_latents``) are the ones inference
uses; they build a graph only when their parameters train (the semantic stage with
``train_encoders``).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from tdm.data.regions import pool_regions, region_labels

PAPER_SIDE, PAPER_KERNEL = 512, 15


def morphology_kernel(side: int) -> int:
    """The paper's kernel 15 at 512 px, scaled to ``side`` (odd, at least 3)."""
    k = max(3, round(PAPER_KERNEL * side / PAPER_SIDE))
    return k if k % 2 else k + 1


def regions(alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """alpha (B,1,H,W) -> labels (B,H,W) long (0 fg, 1 bg, 2 transparent), M (B,1,H,W)."""
    labels, mask = region_labels(alpha[:, 0], kernel=morphology_kernel(alpha.shape[-1]))
    return labels, mask[:, None]


def grid_regions(alpha: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """alpha (B,1,H,W) -> region labels (B,*size) long on the 1/8 grid, a cell fg (bg) only
    when all of it is (``pool_regions``): the semantic stage's targets."""
    return pool_regions(regions(alpha)[0], tuple(size))[0]


def low_res(alpha: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Area-downsample (B,1,H,W) to ``size`` (the 1/8 latent grid)."""
    return F.interpolate(alpha, size=tuple(size), mode="area")
