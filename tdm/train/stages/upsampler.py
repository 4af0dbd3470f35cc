"""Upsampler stage (sec. 3.4, appendix 6.4): the sparse upsampler, attached to the trained
decoder, and the decoder itself ("the entire network") train with the decoder's loss."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from tdm.config import Preset
from tdm.losses import matting_terms
from tdm.refine import SparseUpsampler

from .matting import FrozenStudentStage


class UpsamplerStage(FrozenStudentStage):
    """Trains ``decoder`` and a fresh ``upsampler`` (built from the preset, reading the
    decoder's context feature) with L1 + Laplacian on the upsampler's whole output.

    The samples are the targets: they are read at the processing side like in every stage
    (so a target is never a source upscaled past its own size); the student and decoder
    run on the image shrunk by each of ``factors`` and the upsampler takes their alpha back
    to the sample's size. Every micro-batch is trained at each factor (the loss is their
    mean). The processing side must be a multiple of max(factors) x the pad multiple.

    ``freeze_decoder=True``: the decoder stays as stage 3 left it and the loss is taken on
    the upsampler's active set only (docs/MODEL.md has the measurement that keeps it).
    """

    name = "upsampler"
    factors = (2, 4)

    @classmethod
    def check_side(cls, pipe: Any, side: int) -> None:
        """The decoder runs at 1/max(factors) of ``side``, which must stay a multiple of the
        pad multiple."""
        multiple = max(cls.factors) * pipe.image_processor.multiple
        if side % multiple:
            raise ValueError(f"the upsampler stage runs the decoder at 1/{max(cls.factors)} of the "
                             f"processing side: --resolution must be a multiple of {multiple}, got {side}")

    def __init__(self, pipe: Any, preset: Preset, freeze_decoder: bool = False):
        context = pipe.decoder.context_channels
        pipe.register_modules(upsampler=SparseUpsampler(**{**preset.upsampler, "context_channels": context}))
        super().__init__(pipe)
        self.upsampler, self.freeze_decoder = pipe.upsampler, freeze_decoder
        self.set_trainable(upsampler=self.upsampler, **({} if freeze_decoder else {"decoder": self.decoder}))

    def refine(self, image: torch.Tensor, texts: list[str], factor: int) -> tuple[torch.Tensor, torch.Tensor]:
        """image (B,3,H,W) -> (alpha (B,1,H,W), decoder alpha (B,1,H/f,W/f)): decoder at
        (H,W)/factor, upsampler back to (H,W)."""
        small = F.interpolate(image, size=[n // factor for n in image.shape[-2:]], mode="area")
        coarse, context = self.matte(small, texts, return_context=True)
        return self.upsampler(image, coarse, context), coarse

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        gt, terms = batch["alpha"], []
        for factor in self.factors:
            pred, coarse = self.refine(batch["image"], batch["text"], factor)
            mask = None
            if self.freeze_decoder:
                start = self.pipe.image_processor.resize(coarse, gt.shape[-2:])
                mask = self.upsampler.active_mask(start)[:, None].to(pred.dtype)
            terms.append(matting_terms(pred, gt, mask))
        return {k: torch.stack([t[k] for t in terms]).mean() for k in terms[0]}

    @torch.no_grad()
    def predict_alpha(self, batch: dict[str, Any]) -> torch.Tensor:
        """Decoder alpha at 1/max(factors) of the sample, upsampled back to its size."""
        return self.refine(batch["image"], batch["text"], max(self.factors))[0]
