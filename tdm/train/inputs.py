"""Encoders and targets shared by the stages.

The encoders build a graph only when their parameters train (the semantic stage with
``train_encoders``); frozen, they run without one.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from tdm.data.regions import region_labels

PAPER_SIDE, PAPER_KERNEL = 512, 15


def image_latents(vae: Any, image: torch.Tensor) -> torch.Tensor:
    """image (B,3,H,W) in [-1,1] -> VAE latents (B,4,H/8,W/8) times the scaling factor."""
    return vae.encode(image.to(vae.dtype)).latent_dist.mode() * vae.config.scaling_factor


def clip_features(tokenizer: Any, text_encoder: Any, texts: Sequence[str],
                  device: torch.device) -> torch.Tensor:
    """CLIP last hidden state (B,L,D) of ``texts`` padded to the model length."""
    ids = tokenizer(list(texts), padding="max_length", max_length=tokenizer.model_max_length,
                    truncation=True, return_tensors="pt").input_ids.to(device)
    return text_encoder(ids)[0]


def morphology_kernel(side: int) -> int:
    """The paper's kernel 15 at 512 px, scaled to ``side`` (odd, at least 3)."""
    k = max(3, round(PAPER_KERNEL * side / PAPER_SIDE))
    return k if k % 2 else k + 1


def regions(alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """alpha (B,1,H,W) -> labels (B,H,W) long (0 fg, 1 bg, 2 transparent), M (B,1,H,W)."""
    labels, mask = region_labels(alpha[:, 0], kernel=morphology_kernel(alpha.shape[-1]))
    return labels, mask[:, None]


def low_res(alpha: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Area-downsample (B,1,H,W) to ``size`` (the 1/8 latent grid)."""
    return F.interpolate(alpha, size=tuple(size), mode="area")


def low_res_mask(mask: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """M at ``size``: a low-res cell is fg/bg only if all its pixels are (min-pool)."""
    return 1.0 - F.adaptive_max_pool2d(1.0 - mask, tuple(size))
