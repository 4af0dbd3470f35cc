"""Parameter counts and U-Net GMACs of a preset, without allocating weights.

``python -m tdm.inspect --preset sd15 --json`` prints one JSON line. Everything is built
on the meta device; MACs are torch's flop counter (FLOPs / 2) for one U-Net forward at a
512x512 input (64x64 latent, 77 text tokens), convolutions, linears and attention
matmuls included, normalisations and activations not.
"""
from __future__ import annotations

import argparse
import json
import sys

import torch
from torch.utils.flop_counter import FlopCounterMode

from .build import build_pipeline
from .config import PRESET_NAMES
from .unets import TIMESTEP, TDMUNet

INFERENCE_PARTS = ("text_encoder", "text_adapter", "vae_encoder", "unet", "alpha_head", "decoder",
                   "upsampler")


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def unet_gmacs(unet: TDMUNet, text_tokens: int, text_dim: int, size: int = 512) -> float:
    """GMACs of one forward of ``unet`` (on the meta device) at a size x size input."""
    latents = torch.empty(1, 4, size // 8, size // 8, device="meta")
    text = torch.empty(1, text_tokens, text_dim, device="meta")
    timestep = torch.full((1,), TIMESTEP, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        unet(latents, timestep, encoder_hidden_states=text, return_dict=False)
    return counter.get_total_flops() / 2 / 1e9


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
    return {
        "preset": name,
        "teacher_unet_params": count_params(pipe.teacher_unet),
        "student_unet_params": parts["unet"],
        "semantic_head_params": count_params(pipe.semantic_head),
        "inference_params": sum(parts.values()),
        "inference_params_by_part": parts,
        "teacher_gmacs_512": round(unet_gmacs(pipe.teacher_unet, tokens, dim), 2),
        "student_gmacs_512": round(unet_gmacs(pipe.unet, tokens, dim), 2),
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
