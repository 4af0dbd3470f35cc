"""Stage 3, from soft grounding to alpha matte (sec. 3.4): the detail decoder learns the
full-resolution alpha on the frozen student with L1 + Laplacian."""
from __future__ import annotations

from typing import Any

import torch

from tdm.config import Preset
from tdm.decoder import DetailDecoder
from tdm.losses import matting_terms
from tdm.forward import run_student

from .base import Stage


class FrozenStudentStage(Stage):
    """Base of the stages after distillation: student, heads and text adapter frozen."""

    def __init__(self, pipe: Any):
        super().__init__(pipe)
        self.unet, self.alpha_head, self.decoder = pipe.unet, pipe.alpha_head, pipe.decoder
        self.freeze(self.unet, self.alpha_head, self.text_adapter, self.decoder)

    def matte(self, image: torch.Tensor, texts: list[str], return_context: bool = False
              ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """image (B,3,H,W) in [-1,1] at the processing side -> decoder alpha (B,1,H,W)
        (and with ``return_context`` its context feature (B,C,H,W))."""
        latents, text = self.encode({"image": image, "text": texts})
        out = run_student(self.unet, self.alpha_head, latents, text, capture=False,
                          decoder=self.decoder, images=image)  # the frozen student makes no graph
        return (out.alpha, out.context) if return_context else out.alpha


class MattingStage(FrozenStudentStage):
    """Trains ``decoder`` from scratch, built from the preset (the --init folder's was never
    trained: stages 1-2 leave it at build time's random draw)."""

    name = "matting"

    def __init__(self, pipe: Any, preset: Preset):
        channels = pipe.unet.config.block_out_channels[0]
        pipe.register_modules(decoder=DetailDecoder(**{**preset.decoder_config(), "feature_channels": channels}))
        super().__init__(pipe)
        self.set_trainable(decoder=self.decoder)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return matting_terms(self.matte(batch["image"], batch["text"]), batch["alpha"])

    @torch.no_grad()
    def predict_alpha(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.matte(batch["image"], batch["text"])
