"""Upsampler stage (sec. 3.4, appendix 6.4): the sparse upsampler, attached to the
trained decoder, learns to refine the decoder's alpha to 2x and 4x the processing side
with the matting loss (L1 + Laplacian) on its active region."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from tdm.config import Preset
from tdm.losses import laplacian_loss

from .matting import FrozenStudentStage


class UpsamplerStage(FrozenStudentStage):
    """Trains ``upsampler``. Samples are read at ``max(factors)`` x the processing side;
    every micro-batch is trained at each factor (the loss is their mean)."""

    name = "upsampler"
    factors = (2, 4)
    data_scale = max(factors)

    def __init__(self, pipe: Any, preset: Preset, side: int):
        super().__init__(pipe, preset)
        self.upsampler = pipe.upsampler
        self.set_trainable(upsampler=self.upsampler)

    def _coarse(self, batch: dict[str, Any]) -> torch.Tensor:
        """Decoder alpha (B,1,H/s,W/s) from the image shrunk by ``data_scale``."""
        size = [n // self.data_scale for n in batch["image"].shape[-2:]]
        with torch.no_grad():
            return self.matte(F.interpolate(batch["image"], size=size, mode="area"), batch["text"])

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        coarse = self._coarse(batch)
        l1s, laps = [], []
        for factor in self.factors:
            size = [n * factor for n in coarse.shape[-2:]]
            image = F.interpolate(batch["image"], size=size, mode="area")
            gt = F.interpolate(batch["alpha"], size=size, mode="area")
            pred = self.upsampler(image, coarse)
            start = F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
            active = self.upsampler.active_mask(start)[:, None].to(pred.dtype)
            l1s.append(((pred - gt).abs() * active).sum() / active.sum().clamp(min=1.0))
            laps.append(laplacian_loss(pred * active, gt * active))
        l1, lap = torch.stack(l1s).mean(), torch.stack(laps).mean()
        return {"loss": l1 + lap, "l1": l1, "laplacian": lap}

    @torch.no_grad()
    def predict_alpha(self, batch: dict[str, Any]) -> torch.Tensor:
        """Decoder alpha upsampled by ``data_scale`` to the GT size."""
        return self.upsampler(batch["image"], self._coarse(batch))
