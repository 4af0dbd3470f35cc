"""Parameter counts and U-Net GMACs of a preset, without allocating weights.

``python -m tdm.inspect --preset sd15 --json`` prints one JSON line. Everything is built
on the meta device; MACs are torch's flop counter (FLOPs / 2) for one U-Net forward at a
512x512 input (64x64 latent, 77 text tokens), convolutions, linears and attention
matmuls included, normalisations and activations not; likewise per frame for the VAE
encoder, alpha head and detail decoder, and per prompt for the text encoder. Every
``*_no_attention`` figure leaves the attention matmuls (Q K^T and A V, the VAE's
mid-block attention included) out, as module-hook counters (ptflops, thop, BK-SDM's
counts) do: they see only convolutions and linears.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from .build import build_pipeline
from .config import PRESET_NAMES
from .heads import Projections
from .pipeline import TDMPipeline
from .unets import KD_POINTS, TIMESTEP, TDMUNet

INFERENCE_PARTS = ("text_encoder", "text_adapter", "vae_encoder", "unet", "alpha_head", "decoder",
                   "upsampler")


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def is_attention_op(op: object) -> bool:
    """Q K^T and A V: batched matmuls and the fused attention kernels. Linears lower to
    mm/addmm and convolutions to convolution, so nothing else lands here."""
    name = str(op).removeprefix("aten.")
    return name in ("bmm", "baddbmm") or "attention" in name


@dataclass(frozen=True)
class Macs:
    """GMACs of one call: everything, and the attention matmuls' share of it."""

    total: float
    attention: float

    @property
    def no_attention(self) -> float:
        return self.total - self.attention

    def __add__(self, other: "Macs") -> "Macs":
        return Macs(self.total + other.total, self.attention + other.attention)


def gmacs(fn: Callable[[], object]) -> Macs:
    """GMACs (FLOPs / 2) of calling ``fn`` on meta tensors."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn()
    by_op = counter.get_flop_counts()["Global"]
    attention = sum(flops for op, flops in by_op.items() if is_attention_op(op))
    return Macs(counter.get_total_flops() / 2 / 1e9, attention / 2 / 1e9)


def projections_params(pipe: TDMPipeline) -> int:
    """Parameters of the six distillation projections Phi (training only, eq. 4), sized
    as the transparency stage sizes them."""
    from .train.stages.transparency import out_channels  # the training package, only when asked

    points = tuple(KD_POINTS)
    phi = Projections(points=points,
                      in_channels=tuple(out_channels(pipe.unet.get_submodule(p)) for p in points),
                      out_channels=tuple(out_channels(pipe.teacher_unet.get_submodule(KD_POINTS[p]))
                                         for p in points))
    return count_params(phi)


def unet_gmacs(unet: TDMUNet, text_tokens: int, text_dim: int, size: int = 512) -> Macs:
    """GMACs of one forward of ``unet`` (on the meta device) at a size x size input."""
    latents = torch.empty(1, 4, size // 8, size // 8, device="meta")
    text = torch.empty(1, text_tokens, text_dim, device="meta")
    timestep = torch.full((1,), TIMESTEP, device="meta")
    return gmacs(lambda: unet(latents, timestep, encoder_hidden_states=text, return_dict=False))


def frame_gmacs(pipe: TDMPipeline, size: int = 512) -> dict[str, Macs]:
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
    # one 512x512 frame, prompt already encoded: VAE encoder + U-Net + head + decoder
    frame, unoptimised = per_frame + student, per_frame + teacher
    return {
        "preset": name,
        "teacher_unet_params": count_params(pipe.teacher_unet),
        "student_unet_params": parts["unet"],
        "semantic_head_params": count_params(pipe.semantic_head),
        "decoder_params": parts["decoder"],
        "projections_params": projections_params(pipe),
        "inference_params": sum(parts.values()),
        "inference_params_by_part": parts,
        "teacher_gmacs_512": round(teacher.total, 2),
        "student_gmacs_512": round(student.total, 2),
        "gmacs_512_by_part": {k: round(v.total, 2) for k, v in other.items()},
        "frame_gmacs_512": round(frame.total, 2),
        "unoptimised_frame_gmacs_512": round(unoptimised.total, 2),
        "teacher_gmacs_512_no_attention": round(teacher.no_attention, 2),
        "student_gmacs_512_no_attention": round(student.no_attention, 2),
        "gmacs_512_by_part_no_attention": {k: round(v.no_attention, 2) for k, v in other.items()},
        "frame_gmacs_512_no_attention": round(frame.no_attention, 2),
        "unoptimised_frame_gmacs_512_no_attention": round(unoptimised.no_attention, 2),
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
