"""Region labels (foreground / background / transparent) from a GT alpha matte.

The paper's semantic target (eq. 2) and the mask M (eqs. 3 and 8): the opaque core
(alpha == 1) eroded by a ``kernel`` x ``kernel`` square is foreground, the empty part
(alpha == 0) eroded the same way is background, everything else (soft edges, fur,
glass, and a band of ``kernel // 2`` pixels around every boundary) is transparent.

``pool_regions`` takes labels to a coarser grid (the 1/8 latent grid of the semantic
logits and of the confidence map R) by one rule for labels and mask alike: a cell is
foreground (background) only if every pixel in it is, else transparent.

Works on torch tensors; a numpy array is accepted and converted. Results are always
torch tensors on the input's device.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

FOREGROUND, BACKGROUND, TRANSPARENT = 0, 1, 2


def _erode(region: torch.Tensor, kernel: int) -> torch.Tensor:
    """Binary erosion of (N,1,H,W) {0,1} floats with a square kernel; outside counts as inside."""
    if kernel <= 1:
        return region
    pad = kernel // 2
    hole = F.max_pool2d(1.0 - region, kernel, stride=1, padding=pad)
    return 1.0 - hole[..., : region.shape[-2], : region.shape[-1]]


def region_labels(
    alpha: torch.Tensor | np.ndarray, kernel: int = 15, eps: float = 1e-3
) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels and mask M from alpha of shape (..., H, W) in [0,1] (e.g. (H,W), (1,H,W), (B,1,H,W)).

    Returns ``labels`` (..., H, W) long with 0 fg / 1 bg / 2 transparent and ``mask``
    (..., H, W) float, 1 where the label is fg or bg. ``eps`` is the tolerance for
    "alpha == 1" and "alpha == 0" (resampled mattes are rarely exact).
    """
    a = torch.as_tensor(alpha).float()
    shape = a.shape
    flat = a.reshape(-1, 1, shape[-2], shape[-1])
    fg = _erode((flat >= 1.0 - eps).float(), kernel) > 0.5
    bg = _erode((flat <= eps).float(), kernel) > 0.5
    labels = torch.full_like(flat, TRANSPARENT, dtype=torch.long)
    labels[fg] = FOREGROUND
    labels[bg] = BACKGROUND
    mask = (fg | bg).float()
    return labels.reshape(shape), mask.reshape(shape)


def pool_regions(labels: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels (..., H, W) long -> (labels (..., h, w) long, mask (..., h, w) float) at
    ``size``: a cell is fg (bg) when all its pixels are (a min-pool, windows as in
    ``F.adaptive_max_pool2d``), else transparent; mask is 1 on fg/bg cells."""
    shape = labels.shape
    flat = labels.reshape(-1, 1, shape[-2], shape[-1])
    h, w = int(size[0]), int(size[1])

    def every(label: int) -> torch.Tensor:
        return F.adaptive_max_pool2d((flat != label).float(), (h, w)) < 0.5

    fg, bg = every(FOREGROUND), every(BACKGROUND)
    out = torch.full(fg.shape, TRANSPARENT, dtype=torch.long, device=labels.device)
    out[fg] = FOREGROUND
    out[bg] = BACKGROUND
    return out.reshape(*shape[:-2], h, w), (fg | bg).float().reshape(*shape[:-2], h, w)
