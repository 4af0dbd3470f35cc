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
    The exported pipeline keeps the --init folder's processing side: a demo student trained
    at 128 px gets an upsampler trained on 256 px samples (from 128 and 64) and still
    processes at 128.

    ``freeze_decoder=True``: the decoder stays as stage 3 left it and the loss is taken on
    the upsampler's active set only (docs/MODEL.md has the measurement that keeps it).
    """

    name = "upsampler"
    factors = (2, 4)
    sets_processing_side = False  # the student keeps its side; the upsampler scales its output

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

    def validation_factor(self, side: int) -> int:
        """What validation shrinks samples of ``side`` px by: the factor that runs the
        student at the pipeline's processing side, as inference does (the demo: 256 px
        samples from 128), else the largest (sd15: 512 px samples from 128)."""
        factor = side // self.pipe.config.resolution
        return factor if factor in self.factors else max(self.factors)

    @torch.no_grad()
    def predict_alpha(self, batch: dict[str, Any]) -> torch.Tensor:
        """Decoder alpha at 1/``validation_factor`` of the sample, upsampled back to its size."""
        factor = self.validation_factor(max(batch["image"].shape[-2:]))
        return self.refine(batch["image"], batch["text"], factor)[0]
