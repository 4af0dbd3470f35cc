"""Upsampler stage (sec. 3.4, appendix 6.4): the sparse upsampler, attached to the trained
decoder, and the decoder itself ("the entire network") train with the decoder's loss."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from tdm.config import Preset
from tdm.refine import SparseUpsampler

from .matting import FrozenStudentStage, matting_terms


class UpsamplerStage(FrozenStudentStage):
    """Trains ``decoder`` and a fresh ``upsampler`` (built from the preset, reading the
    decoder's context feature) with L1 + Laplacian on the upsampler's whole output.

    The samples are the targets: they are read at the processing side like in every stage
    (so a target is never a source upscaled past its own size); the student and decoder
    run on the image shrunk by each of ``factors`` and the upsampler takes their alpha back
    to the sample's size. Every micro-batch is trained at each factor (the loss is their
    mean). The processing side must be a multiple of max(factors) x the pad multiple.
    """

    name = "upsampler"
    factors = (2, 4)

    def __init__(self, pipe: Any, preset: Preset, side: int):
        multiple = max(self.factors) * pipe.pad_multiple
        if side % multiple:
            raise ValueError(f"the upsampler stage runs the decoder at 1/{max(self.factors)} of the "
                             f"processing side: --resolution must be a multiple of {multiple}, got {side}")
        context = pipe.decoder.context_channels
        pipe.register_modules(upsampler=SparseUpsampler(**{**preset.upsampler, "context_channels": context}))
        super().__init__(pipe, preset)
        self.upsampler = pipe.upsampler
        self.set_trainable(decoder=self.decoder, upsampler=self.upsampler)

    def refine(self, image: torch.Tensor, texts: list[str], factor: int) -> torch.Tensor:
        """image (B,3,H,W) -> alpha (B,1,H,W): decoder at (H,W)/factor, upsampler back to (H,W)."""
        small = F.interpolate(image, size=[n // factor for n in image.shape[-2:]], mode="area")
        alpha, context = self.matte(small, texts, return_context=True)
        return self.upsampler(image, alpha, context)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        terms = [matting_terms(self.refine(batch["image"], batch["text"], f), batch["alpha"])
                 for f in self.factors]
        return {k: torch.stack([t[k] for t in terms]).mean() for k in terms[0]}

    @torch.no_grad()
    def predict_alpha(self, batch: dict[str, Any]) -> torch.Tensor:
        """Decoder alpha at 1/max(factors) of the sample, upsampled back to its size."""
        return self.refine(batch["image"], batch["text"], max(self.factors))
