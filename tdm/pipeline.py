"""TDMPipeline: images + a text prompt -> alpha mattes, in one U-Net step.

Shaped like diffusers' Marigold pipelines. A frame goes (``tdm.image_processor``): resize
(long side = ``resolution``) and pad to the student's multiple, or with ``square=True``
the paper's squash to ``resolution`` x ``resolution`` (sec. 4.2, appendix 6.2.3) -> VAE
encoder (``z = E(x).mode() * scaling_factor``, x in [-1, 1]) -> student U-Net at t=1 with
the adapted text features -> alpha head (alpha_lr, R at 1/8) -> detail decoder (alpha and
its context feature at processing size) (``tdm.forward``) -> unpad -> sparse upsampler to
the output size (the input size, long side capped at ``max_output_side``) -> exact resize
to the input size.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from diffusers import AutoencoderKL, DiffusionPipeline
from diffusers.utils import BaseOutput
from transformers import CLIPTextModel, CLIPTokenizer

from .decoder import DetailDecoder
from .heads import AlphaHead, Projections, SemanticHead
from .image_processor import ImageInput, TDMImageProcessor
from .forward import encode_latents, encode_prompt, run_student
from .refine import SparseUpsampler
from .text import TextAdapter
from .unets import TDMUNet
from .weights import refuse_pickled_weights


@dataclass
class TDMPipelineOutput(BaseOutput):
    """alpha: (N, H, W) in [0, 1] at each input's size; alpha_lr: (N, h, w) the alpha
    head's coarse matte in [0, 1] and confidence: (N, h, w) sigmoid(R) in [0, 1] (high
    where the head expects the transition region), both on the 1/8 latent grid of the
    unpadded processing size (h = ceil(Hr / 8)). np.ndarray or torch.Tensor; lists of
    per-image arrays when the inputs of one call have different sizes."""

    alpha: np.ndarray | torch.Tensor | list
    alpha_lr: np.ndarray | torch.Tensor | list | None = None
    confidence: np.ndarray | torch.Tensor | list | None = None


@dataclass
class EncodedImages:
    """Images of one size, encoded once and reusable for several prompts.

    images: (N, 3, Hp, Wp) in [-1, 1] at processing size, padded; latents: (N, 4, Hp/8,
    Wp/8); originals: (N, 3, H, W) uint8 inputs; valid: (Hr, Wr) unpadded processing size;
    guide: (N, 3, Ho, Wo) in [-1, 1] at the upsampler's output size, or None when the
    output is not larger than the processing size (no upsampling).
    """

    images: torch.Tensor
    latents: torch.Tensor
    originals: torch.Tensor
    valid: tuple[int, int]
    guide: torch.Tensor | None = None

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.originals.shape[-2:])


TRAINING_ONLY = ("teacher_unet", "semantic_head", "projections")
INFERENCE_ONLY = {name: None for name in TRAINING_ONLY}  # from_pretrained kwargs that skip them


class TDMPipeline(DiffusionPipeline):
    """Text-prompted alpha matting with a single-step diffusion U-Net (TMLR 2025)."""

    model_cpu_offload_seq = "text_encoder->text_adapter->vae->unet->alpha_head->decoder->upsampler"
    # training only: a folder may hold them (the shipped demo keeps its teacher and the
    # distillation projections Phi so the next round continues them); inference never
    # loads them (``from_pretrained(..., **INFERENCE_ONLY)``)
    _optional_components = list(TRAINING_ONLY)

    def __init__(self, tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel, text_adapter: TextAdapter,
                 vae: AutoencoderKL, unet: TDMUNet, alpha_head: AlphaHead, decoder: DetailDecoder,
                 upsampler: SparseUpsampler, teacher_unet: TDMUNet | None = None,
                 semantic_head: SemanticHead | None = None, projections: Projections | None = None,
                 resolution: int = 512, max_output_side: int = 2048):
        super().__init__()
        self.register_modules(tokenizer=tokenizer, text_encoder=text_encoder, text_adapter=text_adapter,
                              vae=vae, unet=unet, alpha_head=alpha_head, decoder=decoder,
                              upsampler=upsampler, teacher_unet=teacher_unet, semantic_head=semantic_head,
                              projections=projections)
        self.register_to_config(resolution=resolution, max_output_side=max_output_side)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> "TDMPipeline":
        """DiffusionPipeline.from_pretrained, safetensors only: a folder whose component holds
        only pickled weights is refused with one line (see ``tdm.weights``)."""
        if kwargs.pop("use_safetensors", True) is not True:
            raise ValueError("TDMPipeline loads safetensors only (use_safetensors=False is refused)")
        if Path(pretrained_model_name_or_path).is_dir():
            refuse_pickled_weights(pretrained_model_name_or_path)
        return super().from_pretrained(pretrained_model_name_or_path, use_safetensors=True, **kwargs)

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def image_processor(self) -> TDMImageProcessor:
        """Resize, pad and unpad for this VAE and student (frames padded to a multiple of
        ``image_processor.multiple`` px, 64 for the shipped presets)."""
        return TDMImageProcessor(self.vae_scale_factor, self.unet.latent_multiple)

    @torch.inference_mode()
    def encode_prompt(self, prompt: str | Sequence[str]) -> torch.Tensor:
        """Prompt(s) -> adapted text features (P, L, D); encode once, reuse for any frames."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        return encode_prompt(self.tokenizer, self.text_encoder, self.text_adapter, prompts)

    @torch.inference_mode()
    def encode_images(self, images: ImageInput, resolution: int | None = None,
                      square: bool = False) -> EncodedImages:
        """Images of one size -> EncodedImages (resized as ``image_processor.processing_size``
        says, padded, VAE-encoded). ``resolution`` (default the config's) must be a multiple
        of ``image_processor.multiple``."""
        processor = self.image_processor
        resolution = processor.check_resolution(resolution or self.config.resolution)
        return self._encode(processor.load(images), resolution, square)

    def _encode(self, frames: list[torch.Tensor], resolution: int, square: bool) -> EncodedImages:
        """``encode_images`` of loaded frames ((3, H, W) uint8, one size) and a checked
        resolution."""
        if len({tuple(f.shape) for f in frames}) > 1:
            raise ValueError("encode_images needs images of one size; call the pipeline for mixed sizes")
        processor = self.image_processor
        originals = torch.stack(frames).to(self.vae.device)
        valid = processor.processing_size(tuple(originals.shape[-2:]), resolution, square)
        images = processor.pad(processor.normalize(originals, valid)).to(self.vae.dtype)
        latents = encode_latents(self.vae, images)
        target = self.output_size(tuple(originals.shape[-2:]))
        guide = None
        if target[0] > valid[0] or target[1] > valid[1]:  # shared by every prompt's upsampling
            guide = processor.normalize(originals, target).to(self.upsampler.dtype)
        return EncodedImages(images=images, latents=latents, originals=originals, valid=valid, guide=guide)

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """Size the upsampler works at: the input size, long side capped at max_output_side."""
        cap = self.config.max_output_side
        return tuple(size) if max(size) <= cap else self.image_processor.fit_long_side(size, cap)

    @torch.inference_mode()
    def predict_alpha(self, encoded: EncodedImages, text: torch.Tensor) -> TDMPipelineOutput:
        """EncodedImages (N frames) + text (1 or N, L, D) -> TDMPipelineOutput of tensors:
        alpha (N, H, W) float in [0, 1], alpha_lr and confidence (N, h, w)."""
        processor = self.image_processor
        out = run_student(self.unet, self.alpha_head, encoded.latents, text, capture=False,
                          decoder=self.decoder, images=encoded.images)
        alpha = processor.unpad(out.alpha, encoded.valid)
        target = self.output_size(encoded.size)
        if encoded.guide is not None:
            context = processor.unpad(out.context, encoded.valid).to(self.upsampler.dtype)
            alpha = self.upsampler(encoded.guide, alpha.to(self.upsampler.dtype), context)
        alpha = processor.resize(alpha.float(), target)
        grid = processor.latent_size(encoded.valid)
        return TDMPipelineOutput(
            alpha=processor.resize(alpha, encoded.size)[:, 0].clamp(0, 1),
            alpha_lr=processor.unpad(out.alpha_lr, grid)[:, 0].float(),
            confidence=processor.unpad(out.confidence_logits, grid)[:, 0].float().sigmoid())

    @torch.inference_mode()
    def __call__(self, images: ImageInput, prompt: str | Sequence[str], resolution: int | None = None,
                 output_type: str = "np", batch_size: int = 0, square: bool = False) -> TDMPipelineOutput:
        """Matte ``images`` (one (H,W,3) array, tensor or PIL image, a list, or an (N,H,W,3)
        batch; uint8 or float in [0,1]) for ``prompt`` (one string, or one per image).
        ``resolution``: processing long side, a multiple of ``image_processor.multiple``
        (default the config's). ``batch_size`` 0: all at once. ``square``: process at
        ``resolution`` x ``resolution`` (the paper's) instead of keeping the aspect ratio.
        Returns alpha (N, H, W) at each input's size with the coarse alpha_lr and
        confidence, or lists when sizes differ."""
        if output_type not in ("np", "pt"):
            raise ValueError(f"output_type must be 'np' or 'pt', got {output_type!r}")
        processor = self.image_processor
        frames = processor.load(images)
        resolution = processor.check_resolution(resolution or self.config.resolution)
        prompts = [prompt] * len(frames) if isinstance(prompt, str) else list(prompt)
        if len(prompts) != len(frames):
            raise ValueError(f"got {len(prompts)} prompts for {len(frames)} images")
        unique = list(dict.fromkeys(prompts))
        text = self.encode_prompt(unique)
        results: list[dict[str, torch.Tensor] | None] = [None] * len(frames)
        groups: dict[tuple, list[int]] = {}
        for i, (frame, p) in enumerate(zip(frames, prompts)):
            groups.setdefault((tuple(frame.shape), p), []).append(i)
        step = batch_size or len(frames)
        for (_, p), indices in groups.items():
            for start in range(0, len(indices), step):
                chunk = indices[start:start + step]
                encoded = self._encode([frames[i] for i in chunk], resolution, square)
                out = self.predict_alpha(encoded, text[unique.index(p)][None])
                for k, i in enumerate(chunk):
                    results[i] = {name: value[k].float().cpu() for name, value in out.items()}
        self.maybe_free_model_hooks()
        same = len({r["alpha"].shape for r in results}) == 1
        fields = {}
        for name in ("alpha", "alpha_lr", "confidence"):
            values = [r[name].numpy() if output_type == "np" else r[name] for r in results]
            fields[name] = (np.stack(values) if output_type == "np" else torch.stack(values)) if same else values
        return TDMPipelineOutput(**fields)
