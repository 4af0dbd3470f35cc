"""Stage 3, from soft grounding to alpha matte (sec. 3.4): the detail decoder learns the
full-resolution alpha on the frozen student with L1 + Laplacian."""
from __future__ import annotations

from typing import Any

import torch

from tdm.config import Preset
from tdm.decoder import DetailDecoder
from tdm.losses import laplacian_loss
from tdm.model import run_student

from .stages import Stage


class FrozenStudentStage(Stage):
    """Base of the stages after distillation: student, heads and text adapter frozen."""

    def __init__(self, pipe: Any, preset: Preset):
        super().__init__(pipe, preset)
        self.unet, self.alpha_head, self.decoder = pipe.unet, pipe.alpha_head, pipe.decoder
        self.freeze(self.unet, self.alpha_head, self.text_adapter, self.decoder)

    def matte(self, image: torch.Tensor, texts: list[str], return_context: bool = False
              ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """image (B,3,H,W) in [-1,1] at the processing side -> decoder alpha (B,1,H,W)
        (and with ``return_context`` its context feature (B,C,H,W))."""
        latents, text = self.encode({"image": image, "text": texts})
        with torch.no_grad():
            out = run_student(self.unet, self.alpha_head, latents, text, capture=False)
        return self.decoder(image, out.alpha_lr, out.confidence_logits, out.feature, return_context)


def matting_terms(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None
                  ) -> dict[str, torch.Tensor]:
    """The decoder's loss (sec. 3.4): mean L1 + Laplacian of alphas (B,1,H,W), and its
    terms; with a 0/1 ``mask`` (B,1,H,W), L1 averaged over it and the Laplacian of the
    masked alphas."""
    if mask is None:
        l1, lap = (pred - gt).abs().mean(), laplacian_loss(pred, gt)
    else:
        l1 = ((pred - gt).abs() * mask).sum() / mask.sum().clamp(min=1.0)
        lap = laplacian_loss(pred * mask, gt * mask)
    return {"loss": l1 + lap, "l1": l1, "laplacian": lap}


class MattingStage(FrozenStudentStage):
    """Trains ``decoder`` from scratch, built from the preset (the --init folder's was never
    trained: stages 1-2 leave it at build time's random draw)."""

    name = "matting"

    def __init__(self, pipe: Any, preset: Preset, side: int):
        channels = pipe.unet.config.block_out_channels[0]
        pipe.register_modules(decoder=DetailDecoder(**{**preset.decoder_config(), "feature_channels": channels}))
        super().__init__(pipe, preset)
        self.set_trainable(decoder=self.decoder)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return matting_terms(self.matte(batch["image"], batch["text"]), batch["alpha"])

    @torch.no_grad()
    def predict_alpha(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.matte(batch["image"], batch["text"])
