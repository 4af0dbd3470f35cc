"""TDMPipeline: images + a text prompt -> alpha mattes, in one U-Net step.

Shaped like diffusers' Marigold pipelines. A frame goes: resize (long side =
``resolution``) and pad to the student's multiple, or with ``square=True`` the paper's
squash to ``resolution`` x ``resolution`` (sec. 4.2, appendix 6.2.3) -> VAE encoder
(``z = E(x).mode() * scaling_factor``, x in [-1, 1]) -> student U-Net at t=1 with the
adapted text features -> alpha head (alpha_lr, R at 1/8) -> detail decoder (alpha and its
context feature at processing size) -> unpad -> sparse upsampler to the output size (the
input size, long side capped at ``max_output_side``) -> exact resize to the input size.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DiffusionPipeline
from diffusers.utils import BaseOutput
from transformers import CLIPTextModel, CLIPTokenizer

from .decoder import DetailDecoder
from .heads import AlphaHead, SemanticHead
from .refine import SparseUpsampler
from .text import TextAdapter
from .unets import TDMUNet
from .weights import refuse_pickled_weights

ImageInput = Union[np.ndarray, torch.Tensor, Sequence[np.ndarray], Sequence[torch.Tensor]]


@dataclass
class TDMPipelineOutput(BaseOutput):
    """alpha: (N, H, W) in [0, 1] (np.ndarray or torch.Tensor); a list of (H, W) mattes
    when the inputs of one call have different sizes."""

    alpha: np.ndarray | torch.Tensor | list


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


def to_uint8_chw(images: ImageInput) -> list[torch.Tensor]:
    """One (H, W, 3) image, a list of them or an (N, H, W, 3) batch -> list of (3, H, W) uint8.

    uint8 values are 0..255; float inputs are taken as [0, 1].
    """
    if isinstance(images, (np.ndarray, torch.Tensor)):
        images = [images] if images.ndim == 3 else list(images)
    out = []
    for image in images:
        image = torch.as_tensor(np.asarray(image) if not isinstance(image, torch.Tensor) else image)
        if image.ndim != 3 or image.shape[-1] not in (3, 4):
            raise ValueError(f"expected an (H, W, 3) image, got shape {tuple(image.shape)}")
        if image.dtype != torch.uint8:
            image = (image.float().clamp(0, 1) * 255).round().to(torch.uint8)
        out.append(image[..., :3].permute(2, 0, 1))
    if not out:
        raise ValueError("no images given")
    return out


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased when shrinking) resize of (B, C, H, W) float."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)


class TDMPipeline(DiffusionPipeline):
    """Text-prompted alpha matting with a single-step diffusion U-Net (TMLR 2025)."""

    model_cpu_offload_seq = "text_encoder->text_adapter->vae->unet->alpha_head->decoder->upsampler"
    _optional_components = ["teacher_unet", "semantic_head"]

    def __init__(self, tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel, text_adapter: TextAdapter,
                 vae: AutoencoderKL, unet: TDMUNet, alpha_head: AlphaHead, decoder: DetailDecoder,
                 upsampler: SparseUpsampler, teacher_unet: TDMUNet | None = None,
                 semantic_head: SemanticHead | None = None, resolution: int = 512,
                 max_output_side: int = 2048):
        super().__init__()
        self.register_modules(tokenizer=tokenizer, text_encoder=text_encoder, text_adapter=text_adapter,
                              vae=vae, unet=unet, alpha_head=alpha_head, decoder=decoder,
                              upsampler=upsampler, teacher_unet=teacher_unet, semantic_head=semantic_head)
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
    def pad_multiple(self) -> int:
        """Pixel multiple the processing size is padded to (64 for the shipped presets)."""
        return self.vae_scale_factor * self.unet.latent_multiple

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @torch.inference_mode()
    def encode_prompt(self, prompt: str | Sequence[str]) -> torch.Tensor:
        """Prompt(s) -> adapted text features (P, L, D); encode once, reuse for any frames."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        ids = self.tokenizer(prompts, padding="max_length", max_length=self.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").input_ids
        text = self.text_encoder(ids.to(self.text_encoder.device)).last_hidden_state
        return self.text_adapter(text.to(self.text_adapter.dtype))

    def processing_size(self, size: tuple[int, int], resolution: int | None = None,
                        square: bool = False) -> tuple[int, int]:
        """(H, W) -> (Hr, Wr) with the long side at ``resolution`` rounded to a multiple of 64;
        ``square``: (resolution, resolution) whatever the aspect, as the paper trains and infers."""
        resolution = resolution or self.config.resolution
        resolution = max(64, int(round(resolution / 64)) * 64)
        if square:
            return resolution, resolution
        scale = resolution / max(size)
        return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))

    @torch.inference_mode()
    def encode_images(self, images: ImageInput, resolution: int | None = None,
                      square: bool = False) -> EncodedImages:
        """Images of one size -> EncodedImages (resized as ``processing_size`` says, padded,
        VAE-encoded)."""
        frames = to_uint8_chw(images)
        if len({tuple(f.shape) for f in frames}) > 1:
            raise ValueError("encode_images needs images of one size; call the pipeline for mixed sizes")
        device, dtype = self.vae.device, self.vae.dtype
        originals = torch.stack(frames).to(device)
        valid = self.processing_size(tuple(originals.shape[-2:]), resolution, square)
        x = _resize(originals.float() / 255, valid) * 2 - 1
        m = self.pad_multiple
        pad = (0, -valid[1] % m, 0, -valid[0] % m)
        x = F.pad(x, pad, mode="replicate").to(dtype)
        latents = self.vae.encode(x).latent_dist.mode() * self.vae.config.scaling_factor
        target = self.output_size(tuple(originals.shape[-2:]))
        guide = None
        if target[0] > valid[0] or target[1] > valid[1]:  # shared by every prompt's upsampling
            guide = (_resize(originals.float() / 255, target) * 2 - 1).to(self.upsampler.dtype)
        return EncodedImages(images=x, latents=latents, originals=originals, valid=valid, guide=guide)

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """Size the upsampler works at: the input size, long side capped at max_output_side."""
        scale = min(1.0, self.config.max_output_side / max(size))
        return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))

    @torch.inference_mode()
    def predict_alpha(self, encoded: EncodedImages, text: torch.Tensor) -> torch.Tensor:
        """EncodedImages (N frames) + text (1 or N, L, D) -> alpha (N, H, W) float in [0, 1]."""
        n = encoded.latents.shape[0]
        text = text.to(device=self.unet.device, dtype=self.unet.dtype).expand(n, -1, -1)
        feature = self.unet.features(encoded.latents.to(self.unet.dtype), text)
        alpha_lr, confidence_logits = self.alpha_head(feature.to(self.alpha_head.dtype))
        alpha, context = self.decoder(encoded.images.to(self.decoder.dtype), alpha_lr, confidence_logits,
                                      feature.to(self.decoder.dtype), return_context=True)
        alpha = alpha[..., : encoded.valid[0], : encoded.valid[1]]
        target = self.output_size(encoded.size)
        if encoded.guide is not None:
            context = context[..., : encoded.valid[0], : encoded.valid[1]].to(self.upsampler.dtype)
            alpha = self.upsampler(encoded.guide, alpha.to(self.upsampler.dtype), context)
        alpha = _resize(alpha.float(), target)
        return _resize(alpha, encoded.size)[:, 0].clamp(0, 1)

    @torch.inference_mode()
    def __call__(self, images: ImageInput, prompt: str | Sequence[str], resolution: int | None = None,
                 output_type: str = "np", batch_size: int = 0, square: bool = False) -> TDMPipelineOutput:
        """Matte ``images`` (one (H,W,3), a list, or an (N,H,W,3) batch; uint8 or float in
        [0,1]) for ``prompt`` (one string, or one per image). ``batch_size`` 0: all at once.
        ``square``: process at ``resolution`` x ``resolution`` (the paper's) instead of
        keeping the aspect ratio. Returns alpha (N, H, W) at each input's size, or a list
        when sizes differ."""
        if output_type not in ("np", "pt"):
            raise ValueError(f"output_type must be 'np' or 'pt', got {output_type!r}")
        frames = to_uint8_chw(images)
        prompts = [prompt] * len(frames) if isinstance(prompt, str) else list(prompt)
        if len(prompts) != len(frames):
            raise ValueError(f"got {len(prompts)} prompts for {len(frames)} images")
        unique = list(dict.fromkeys(prompts))
        text = self.encode_prompt(unique)
        alphas: list[torch.Tensor | None] = [None] * len(frames)
        groups: dict[tuple, list[int]] = {}
        for i, (frame, p) in enumerate(zip(frames, prompts)):
            groups.setdefault((tuple(frame.shape), p), []).append(i)
        step = batch_size or len(frames)
        for (_, p), indices in groups.items():
            for start in range(0, len(indices), step):
                chunk = indices[start:start + step]
                encoded = self.encode_images([frames[i].permute(1, 2, 0) for i in chunk], resolution, square)
                alpha = self.predict_alpha(encoded, text[unique.index(p)][None]).float().cpu()
                for i, a in zip(chunk, alpha):
                    alphas[i] = a
        self.maybe_free_model_hooks()
        same = len({a.shape for a in alphas}) == 1
        if output_type == "np":
            alphas = [a.numpy() for a in alphas]
            return TDMPipelineOutput(alpha=np.stack(alphas) if same else alphas)
        return TDMPipelineOutput(alpha=torch.stack(alphas) if same else alphas)
