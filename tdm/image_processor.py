"""TDMImageProcessor: where frames are loaded, checked, resized, padded and unpadded.

Shaped like diffusers' ``MarigoldImageProcessor``. A frame goes ``load`` ((3, H, W)
uint8) -> ``processing_size`` (long side at ``resolution``, or ``resolution`` x
``resolution`` with ``square``) -> ``normalize`` (resize, values in [-1, 1]) -> ``pad`` (to
a multiple of ``multiple``, edges replicated) -> the model -> ``unpad`` (back to the
processing size, or with ``latent_size`` to the 1/8 grid covering it) -> ``resize``.
Inputs are checked once, by ``load`` and ``check_resolution``.
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F

Image = Union[np.ndarray, torch.Tensor, PIL.Image.Image]
ImageInput = Union[Image, Sequence[Image]]


class TDMImageProcessor:
    """Image preparation for a model whose VAE shrinks by ``vae_scale_factor`` and whose
    U-Net needs latent sizes that are multiples of ``latent_multiple``: processing sizes
    are padded to ``multiple = vae_scale_factor * latent_multiple`` pixels (64 for every
    preset)."""

    def __init__(self, vae_scale_factor: int = 8, latent_multiple: int = 8):
        self.vae_scale_factor = vae_scale_factor
        self.multiple = vae_scale_factor * latent_multiple

    def check_resolution(self, resolution: int) -> int:
        """``resolution`` itself if it is a positive multiple of ``multiple``, else ValueError."""
        if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) \
                or resolution < self.multiple or resolution % self.multiple:
            raise ValueError(f"resolution must be a multiple of {self.multiple} (at least "
                             f"{self.multiple}), got {resolution!r}")
        return int(resolution)

    @staticmethod
    def load(images: ImageInput) -> list[torch.Tensor]:
        """One (H, W, 3) image (array, tensor or PIL), a list of them or an (N, H, W, 3)
        batch -> list of (3, H, W) uint8. uint8 values are 0..255; float inputs are taken
        as [0, 1]; a fourth channel is dropped."""
        if isinstance(images, PIL.Image.Image):
            images = [images]
        elif isinstance(images, (np.ndarray, torch.Tensor)):
            images = [images] if images.ndim == 3 else list(images)
        out = []
        for image in images:
            if isinstance(image, PIL.Image.Image):
                image = np.array(image)  # a writable copy (asarray of PIL is read-only)
            image = torch.as_tensor(image if isinstance(image, torch.Tensor) else np.asarray(image))
            if image.ndim != 3 or image.shape[-1] not in (3, 4):
                raise ValueError(f"expected an (H, W, 3) image, got shape {tuple(image.shape)}")
            if image.dtype != torch.uint8:
                image = (image.float().clamp(0, 1) * 255).round().to(torch.uint8)
            out.append(image[..., :3].permute(2, 0, 1))
        if not out:
            raise ValueError("no images given")
        return out

    @staticmethod
    def fit_long_side(size: tuple[int, int], side: int) -> tuple[int, int]:
        """(H, W) scaled, aspect kept, so that the long side is ``side`` px."""
        scale = side / max(size)
        return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))

    def processing_size(self, size: tuple[int, int], resolution: int,
                        square: bool = False) -> tuple[int, int]:
        """(H, W) -> (Hr, Wr) the model sees before padding: the long side at
        ``resolution``, or with ``square`` (resolution, resolution) whatever the aspect,
        as the paper trains and infers. ``resolution`` must pass ``check_resolution``."""
        resolution = self.check_resolution(resolution)
        return (resolution, resolution) if square else self.fit_long_side(size, resolution)

    def latent_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """The latent cells (h, w) that cover (H, W) pixels (each cell is 8 x 8 px)."""
        f = self.vae_scale_factor
        return -(-size[0] // f), -(-size[1] // f)

    @staticmethod
    def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Bilinear resize of (B, C, H, W) float to ``size``, antialiased when shrinking
        (x itself when it already has that size)."""
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)

    def normalize(self, frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(N, 3, H, W) uint8 -> (N, 3, *size) float32 in [-1, 1]."""
        return self.resize(frames.float() / 255, size) * 2 - 1

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) float -> (B, C, Hp, Wp), H and W rounded up to ``multiple`` by
        replicating the last row and column (``unpad`` undoes it)."""
        m = self.multiple
        return F.pad(x, (0, -x.shape[-1] % m, 0, -x.shape[-2] % m), mode="replicate")

    @staticmethod
    def unpad(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(..., Hp, Wp) -> (..., H, W): the top-left ``size`` that ``pad`` started from."""
        return x[..., : size[0], : size[1]]
