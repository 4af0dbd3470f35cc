"""Build a TDMPipeline from a preset: random weights, or SD-1.5 weights where given.

``build_pipeline("sd15", device="meta")`` allocates nothing (parameter counting).
``pretrained`` is a standard SD-1.5 diffusers folder or hub id (unet/, vae/,
text_encoder/, tokenizer/): the teacher takes its U-Net, the student takes the teacher
through the BK-SDM copy map, and the tokenizer, text encoder and VAE are SD's.
"""
from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL
from transformers import CLIPTextModel, CLIPTokenizer

from .config import Preset, get_preset
from .decoder import DetailDecoder
from .heads import AlphaHead, SemanticHead
from .pipeline import TDMPipeline
from .refine import SparseUpsampler
from .text import build_text_adapter, build_text_encoder, build_tokenizer
from .unets import build_student_unet, build_teacher_unet, TDMUNet
from .weights import refuse_pickled_weights


def _load_sd_parts(pretrained: str) -> tuple[CLIPTokenizer, CLIPTextModel, AutoencoderKL, TDMUNet]:
    """Tokenizer, frozen text encoder, VAE and teacher U-Net from an SD-1.5 folder or id
    (safetensors only)."""
    if Path(pretrained).is_dir():
        refuse_pickled_weights(pretrained, ["text_encoder", "vae", "unet"])
    tokenizer = CLIPTokenizer.from_pretrained(pretrained, subfolder="tokenizer")
    text_encoder = CLIPTextModel.from_pretrained(pretrained, subfolder="text_encoder",
                                                 use_safetensors=True)
    vae = AutoencoderKL.from_pretrained(pretrained, subfolder="vae", use_safetensors=True)
    teacher = TDMUNet.from_pretrained(pretrained, subfolder="unet", use_safetensors=True)
    return tokenizer, text_encoder, vae, teacher


def build_pipeline(preset: str | Preset = "tiny", seed: int = 0, device: str | torch.device = "cpu",
                   dtype: torch.dtype = torch.float32, with_teacher: bool = False,
                   pretrained: str | None = None) -> TDMPipeline:
    """A TDMPipeline of ``preset`` with random weights drawn from ``seed`` (CPU RNG, so
    the weights do not depend on ``device``), optionally initialised from SD-1.5."""
    preset = get_preset(preset)
    device = torch.device(device)
    if pretrained is not None and device.type == "meta":
        raise ValueError("pretrained weights cannot be loaded on the meta device")
    build_device = device if device.type == "meta" else torch.device("cpu")
    with torch.random.fork_rng(devices=[]), build_device:
        torch.manual_seed(seed)
        if pretrained is None:
            tokenizer = build_tokenizer(preset.tokenizer_vocab_size, preset.text_max_length)
            text_encoder = build_text_encoder(preset)
            vae = AutoencoderKL(**preset.vae_config())
            teacher = build_teacher_unet(preset)
        else:
            tokenizer, text_encoder, vae, teacher = _load_sd_parts(pretrained)
        student = build_student_unet(teacher, preset)
        channels = teacher.config.block_out_channels[0]
        pipe = TDMPipeline(
            tokenizer=tokenizer,
            text_encoder=text_encoder.requires_grad_(False),
            text_adapter=build_text_adapter(preset),
            vae=vae.requires_grad_(False),
            unet=student,
            alpha_head=AlphaHead(channels, preset.head_channels),
            decoder=DetailDecoder(**{**preset.decoder_config(), "feature_channels": channels}),
            upsampler=SparseUpsampler(**preset.upsampler),
            teacher_unet=teacher if with_teacher else None,
            semantic_head=SemanticHead(channels, preset.head_channels) if with_teacher else None,
            resolution=preset.resolution,
            max_output_side=preset.max_output_side,
        )
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            component.eval()
    if device.type != "meta":
        pipe.to(device)
        if dtype != torch.float32:
            pipe.to(dtype=dtype)
    return pipe
