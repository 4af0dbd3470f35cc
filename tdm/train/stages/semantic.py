"""Stage 1, soft grounding in semantic (sec. 3.2.1): teacher U-Net + semantic head +
text adapter learn fg / bg / transparent regions with cross-entropy (eq. 2). Without
pretrained weights the VAE encoder and the text encoder learn with them (the foundation
that SD-1.5 and CLIP give the paper); the later stages keep them frozen. The CE alone
teaches the encoder to keep only what separates regions (not an object's colour,
benchmarks/probe_latent.py); ``recon_weight`` adds the VAE's own reconstruction loss, so
the latent keeps the image as SD-1.5's does."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from tdm.forward import encode_posterior, run_teacher
from tdm.losses import reconstruction, semantic_ce

from .base import Stage
from .targets import grid_regions


def soft_proxy(probs: torch.Tensor) -> torch.Tensor:
    """Region probabilities (B,3,h,w) (fg, bg, transparent) -> the alpha they stand for,
    p(fg) + p(transparent) / 2, (B,1,h,w)."""
    return probs[:, 0:1] + 0.5 * probs[:, 2:3]


def label_proxy(alpha: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """What a perfect teacher's soft proxy is: alpha (B,1,H,W) -> the region labels
    pooled to the teacher's ``grid`` as one-hot probabilities -> (B,1,*grid). It bounds
    what the proxy of any teacher can score (docs/TRAINING.md)."""
    return soft_proxy(F.one_hot(grid_regions(alpha, grid), 3).permute(0, 3, 1, 2).float())


class SemanticStage(Stage):
    """Trains ``teacher_unet``, ``semantic_head`` and ``text_adapter``, and with
    ``train_encoders`` the ``vae`` encoder and the ``text_encoder``; else they are frozen.
    ``balance_classes`` weights the CE by region frequency (``losses.semantic_ce``).
    ``recon_weight`` > 0 (needs ``train_encoders``) adds ``losses.reconstruction`` with that
    weight and trains the VAE's decoder for it."""

    name = "semantic"

    def __init__(self, pipe: Any, train_encoders: bool = False, balance_classes: bool = False,
                 recon_weight: float = 0.0):
        super().__init__(pipe)
        self.balance_classes, self.recon_weight = balance_classes, recon_weight
        if pipe.teacher_unet is None or pipe.semantic_head is None:
            raise ValueError("the semantic stage needs a teacher: start it without --init "
                             "(or --init a folder that kept one)")
        if recon_weight and not train_encoders:
            raise ValueError("a reconstruction loss needs the VAE to train (--train-encoders)")
        self.set_trainable(teacher_unet=pipe.teacher_unet, semantic_head=pipe.semantic_head,
                           text_adapter=pipe.text_adapter)
        if train_encoders:
            self.set_trainable(vae=self.vae, text_encoder=self.text_encoder)
        if recon_weight:  # the decoder runs: it trains
            self.vae.decoder.requires_grad_(True)
            self.vae.post_quant_conv.requires_grad_(True)

    def _logits(self, batch: dict[str, Any], posterior: Any = None) -> torch.Tensor:
        latents, text = self.encode(batch, posterior)
        out = run_teacher(self.trainable["teacher_unet"], self.trainable["semantic_head"],
                          latents, text, capture=False)
        return out.semantic_logits

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        posterior, terms = None, {}
        if self.recon_weight:
            posterior = encode_posterior(self.vae, batch["image"])
            terms = reconstruction(self.vae, batch["image"], posterior)
        logits = self._logits(batch, posterior)
        ce = semantic_ce(logits, grid_regions(batch["alpha"], logits.shape[-2:]),
                         balance=self.balance_classes)
        loss = ce + self.recon_weight * terms["recon"] if terms else ce
        return {"loss": loss, "ce": ce, **terms}

    @torch.no_grad()
    def predict_alpha(self, batch: dict[str, Any]) -> torch.Tensor:
        """Soft proxy: p(foreground) + p(transparent) / 2, upsampled bilinearly."""
        alpha = soft_proxy(self._logits(batch).float().softmax(1))
        return self.pipe.image_processor.resize(alpha, batch["alpha"].shape[-2:])
