"""The model's forward passes, written once for inference and every training stage.

``encode_prompt`` (tokenize -> CLIP -> text adapter) and ``encode_latents`` (VAE encoder)
turn prompts and images into the U-Net's inputs. ``run_teacher`` / ``run_student`` take
VAE latents (B, 4, h, w) and adapted text features (B or 1, L, D), run the U-Net at t=1
and return the head outputs, the 320-channel decoder feature and, when ``capture`` (what
distillation compares), the KD features by module name (``KD_POINTS``) and the captured
attention (``A_SA @ alpha`` per resolution when ``alpha`` is given, and the
cross-attention maps), keyed by the latent size (h, w) of the layer. ``run_student`` with
a ``decoder`` also runs the detail decoder: that is the whole matting forward that
``TDMPipeline.predict_alpha`` and the matting and upsampler stages use.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import torch

from .attention import Resolution, capture_attention
from .decoder import DetailDecoder
from .heads import AlphaHead, SemanticHead
from .unets import KD_POINTS, TDMUNet


@dataclass
class UNetRun:
    """What one U-Net forward yields besides the head outputs.

    feature: (B, C0, h, w); kd_features: {module name: (B, C, h', w')};
    self_attention_alpha: {(h', w'): (B, h'w', 1)}; cross_attention: {(h', w'): (B, h'w', L)}.
    """

    feature: torch.Tensor
    kd_features: dict[str, torch.Tensor] = field(default_factory=dict)
    self_attention_alpha: dict[Resolution, torch.Tensor] = field(default_factory=dict)
    cross_attention: dict[Resolution, torch.Tensor] = field(default_factory=dict)


@dataclass
class TeacherOutput(UNetRun):
    """Plus semantic logits (B, 3, h, w)."""

    semantic_logits: torch.Tensor | None = None


@dataclass
class StudentOutput(UNetRun):
    """Plus alpha_lr (B, 1, h, w) in [0, 1] and confidence logits R (B, 1, h, w); with a
    decoder, alpha (B, 1, H, W) in [0, 1] and its context feature (B, C, H, W) at the
    image size."""

    alpha_lr: torch.Tensor | None = None
    confidence_logits: torch.Tensor | None = None
    alpha: torch.Tensor | None = None
    context: torch.Tensor | None = None


def encode_prompt(tokenizer: Any, text_encoder: Any, text_adapter: Any,
                  prompts: Sequence[str]) -> torch.Tensor:
    """Prompts -> adapted text features (P, L, D): CLIP's last hidden state of the prompts
    padded (or cut) to the tokenizer's length, through the text adapter."""
    ids = tokenizer(list(prompts), padding="max_length", max_length=tokenizer.model_max_length,
                    truncation=True, return_tensors="pt").input_ids
    text = text_encoder(ids.to(text_encoder.device)).last_hidden_state
    return text_adapter(text.to(text_adapter.dtype))


def encode_posterior(vae: Any, images: torch.Tensor) -> Any:
    """images (B, 3, H, W) in [-1, 1] -> the encoder's diagonal Gaussian over the unscaled
    latents (B, 4, H/8, W/8) (diffusers' ``DiagonalGaussianDistribution``)."""
    return vae.encode(images.to(vae.dtype)).latent_dist


def encode_latents(vae: Any, images: torch.Tensor, posterior: Any = None) -> torch.Tensor:
    """images (B, 3, H, W) in [-1, 1] -> VAE latents (B, 4, H/8, W/8): the encoder's mode
    times the scaling factor (of ``posterior`` when the caller has it already)."""
    posterior = encode_posterior(vae, images) if posterior is None else posterior
    return posterior.mode() * vae.config.scaling_factor


def _block_output(output) -> torch.Tensor:
    """Down blocks return (hidden, residuals); others a tensor."""
    return output[0] if isinstance(output, tuple) else output


def run_unet(unet: TDMUNet, latents: torch.Tensor, text: torch.Tensor,
             alpha: torch.Tensor | None = None, kd_points: Iterable[str] = (),
             capture: bool = True) -> UNetRun:
    """U-Net forward at t=1 with KD-feature hooks on ``kd_points`` and (if ``capture``)
    attention capture.

    latents (B, 4, h, w); text (B or 1, L, D); alpha (B, 1, H, W) GT matte or None. Both
    inputs are cast to the U-Net's dtype (and the text to its device).
    """
    latents = latents.to(unet.dtype)
    text = text.to(device=unet.device, dtype=unet.dtype)
    if text.shape[0] != latents.shape[0]:
        text = text.expand(latents.shape[0], -1, -1)
    kd: dict[str, torch.Tensor] = {}
    handles = [
        unet.get_submodule(name).register_forward_hook(
            lambda module, args, output, name=name: kd.__setitem__(name, _block_output(output)))
        for name in kd_points
    ]
    recording = capture_attention(unet, alpha) if capture else contextlib.nullcontext()
    try:
        with recording as record:
            feature = unet.features(latents, text)
    finally:
        for handle in handles:
            handle.remove()
    run = UNetRun(feature=feature, kd_features=kd)
    if record is not None:
        run.self_attention_alpha = record.self_attention_alpha()
        run.cross_attention = record.cross_attention()
    return run


def run_teacher(unet: TDMUNet, head: SemanticHead, latents: torch.Tensor, text: torch.Tensor,
                alpha: torch.Tensor | None = None, capture: bool = True) -> TeacherOutput:
    """Teacher forward: semantic logits, feature, KD features (teacher names), attention."""
    run = run_unet(unet, latents, text, alpha, KD_POINTS.values() if capture else (), capture)
    return TeacherOutput(**vars(run), semantic_logits=head(run.feature))


def run_student(unet: TDMUNet, head: AlphaHead, latents: torch.Tensor, text: torch.Tensor,
                alpha: torch.Tensor | None = None, capture: bool = True,
                decoder: DetailDecoder | None = None, images: torch.Tensor | None = None
                ) -> StudentOutput:
    """Student forward: alpha_lr, R logits, feature, KD features (student names), attention;
    with ``decoder``, also the decoder's alpha and context feature from ``images``
    (B, 3, H, W) in [-1, 1], the images ``latents`` were encoded from (H, W multiples of 64).
    Each module gets its input in its own dtype."""
    run = run_unet(unet, latents, text, alpha, KD_POINTS.keys() if capture else (), capture)
    alpha_lr, confidence_logits = head(run.feature.to(head.dtype))
    out = StudentOutput(**vars(run), alpha_lr=alpha_lr, confidence_logits=confidence_logits)
    if decoder is not None:
        out.alpha, out.context = decoder(images.to(decoder.dtype), alpha_lr, confidence_logits,
                                         run.feature.to(decoder.dtype), return_context=True)
    return out
