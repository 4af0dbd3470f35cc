"""Parameter counts and U-Net GMACs of a preset, without allocating weights.

``python -m tdm.inspect --preset sd15 --json`` prints one JSON line. Everything is built
on the meta device; MACs are torch's flop counter (FLOPs / 2) for one U-Net forward at a
512x512 input (64x64 latent, 77 text tokens), convolutions, linears and attention
matmuls included, normalisations and activations not; likewise per frame for the VAE
encoder, alpha head and detail decoder, and per prompt for the text encoder.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from .build import build_pipeline
from .config import PRESET_NAMES
from .pipeline import TDMPipeline
from .unets import TIMESTEP, TDMUNet

INFERENCE_PARTS = ("text_encoder", "text_adapter", "vae_encoder", "unet", "alpha_head", "decoder",
                   "upsampler")


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def gmacs(fn: Callable[[], object]) -> float:
    """GMACs (FLOPs / 2) of calling ``fn`` on meta tensors."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn()
    return counter.get_total_flops() / 2 / 1e9


def unet_gmacs(unet: TDMUNet, text_tokens: int, text_dim: int, size: int = 512) -> float:
    """GMACs of one forward of ``unet`` (on the meta device) at a size x size input."""
    latents = torch.empty(1, 4, size // 8, size // 8, device="meta")
    text = torch.empty(1, text_tokens, text_dim, device="meta")
    timestep = torch.full((1,), TIMESTEP, device="meta")
    return gmacs(lambda: unet(latents, timestep, encoder_hidden_states=text, return_dict=False))


def frame_gmacs(pipe: TDMPipeline, size: int = 512) -> dict[str, float]:
    """GMACs per size x size frame of the VAE encoder, alpha head and detail decoder,
    and per prompt of the text encoder (meta device)."""
    image = torch.empty(1, 3, size, size, device="meta")
    channels = pipe.unet.config.block_out_channels[0]
    feature = torch.empty(1, channels, size // 8, size // 8, device="meta")
    low = torch.empty(1, 1, size // 8, size // 8, device="meta")
    ids = torch.zeros(1, pipe.tokenizer.model_max_length, dtype=torch.long, device="meta")
    return {
        "vae_encoder": gmacs(lambda: pipe.vae.encode(image)),
        "alpha_head": gmacs(lambda: pipe.alpha_head(feature)),
        "decoder": gmacs(lambda: pipe.decoder(image, low, low, feature)),
        "text_encoder_per_prompt": gmacs(lambda: pipe.text_encoder(ids)),
    }


def inspect_preset(name: str) -> dict:
    """Parameter counts per part and teacher/student U-Net GMACs at 512x512."""
    pipe = build_pipeline(name, device="meta", with_teacher=True)
    vae = pipe.vae
    parts = {
        "text_encoder": count_params(pipe.text_encoder),
        "text_adapter": count_params(pipe.text_adapter),
        "vae_encoder": count_params(vae.encoder) + count_params(vae.quant_conv),
        "unet": count_params(pipe.unet),
        "alpha_head": count_params(pipe.alpha_head),
        "decoder": count_params(pipe.decoder),
        "upsampler": count_params(pipe.upsampler),
    }
    tokens = pipe.tokenizer.model_max_length
    dim = pipe.text_encoder.config.hidden_size
    teacher, student = (unet_gmacs(u, tokens, dim) for u in (pipe.teacher_unet, pipe.unet))
    other = frame_gmacs(pipe)
    per_frame = other["vae_encoder"] + other["alpha_head"] + other["decoder"]
    return {
        "preset": name,
        "teacher_unet_params": count_params(pipe.teacher_unet),
        "student_unet_params": parts["unet"],
        "semantic_head_params": count_params(pipe.semantic_head),
        "inference_params": sum(parts.values()),
        "inference_params_by_part": parts,
        "teacher_gmacs_512": round(teacher, 2),
        "student_gmacs_512": round(student, 2),
        "gmacs_512_by_part": {k: round(v, 2) for k, v in other.items()},
        # one 512x512 frame, prompt already encoded: VAE encoder + U-Net + head + decoder
        "frame_gmacs_512": round(per_frame + student, 2),
        "unoptimised_frame_gmacs_512": round(per_frame + teacher, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdm.inspect", description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="sd15", choices=PRESET_NAMES)
    parser.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    args = parser.parse_args(argv)
    report = inspect_preset(args.preset)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>26}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
