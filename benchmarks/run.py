"""Measured speed and memory of the model, printed as one JSON line.

    python benchmarks/run.py --suite quick|full [--device auto|cpu|cuda] [--json]

quick: the shipped-size "demo" preset, one frame at its processing resolution.
full:  adds the paper-size "sd15" student pipeline at 512x512 (Table 1's setting) and
       the teacher U-Net alone, in fp32 and (on CUDA) bf16, with peak GPU memory.
Weights are random: speed does not depend on their values. Never run as a test.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import tdm


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn, device: torch.device, warmup: int, repeats: int) -> float:
    """Median wall time of fn() in milliseconds after `warmup` calls."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def bench_pipeline(preset: str, size: int, device: torch.device, dtype: torch.dtype,
                   warmup: int, repeats: int, batch: int = 1) -> dict:
    """ms per frame of the inference pipeline (VAE encoder, student, heads, decoder)."""
    pipe = tdm.build_pipeline(preset, seed=0, device=device, dtype=dtype)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
    text = pipe.encode_prompt("the left zebra")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def run():
        enc = pipe.encode_images(frames, resolution=size)
        pipe.predict_alpha(enc, text)

    ms = time_call(run, device, warmup, repeats) / batch
    out = {"ms_per_frame": round(ms, 2), "fps": round(1000 / ms, 2), "batch": batch}
    if device.type == "cuda":
        out["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return out


def bench_teacher(device: torch.device, dtype: torch.dtype, warmup: int, repeats: int) -> dict:
    """ms of one SD-1.5-size teacher U-Net forward at a 64x64 latent (512 px)."""
    from tdm.config import get_preset
    from tdm.unets import build_teacher_unet

    with device:
        unet = build_teacher_unet(get_preset("sd15")).to(dtype).eval()
        z = torch.randn(1, 4, 64, 64, dtype=dtype)
        text = torch.randn(1, 77, 768, dtype=dtype)
        t = torch.ones(1, dtype=dtype)

    @torch.inference_mode()
    def run():
        unet(z, t, encoder_hidden_states=text)

    return {"ms": round(time_call(run, device, warmup, repeats), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=["quick", "full"], default="quick")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--json", action="store_true", help="print one JSON line (the default output)")
    args = ap.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    cuda = device.type == "cuda"
    warmup, repeats = (3, 10) if cuda else (1, 3)
    result: dict = {"suite": args.suite, "device": torch.cuda.get_device_name(device) if cuda else "cpu",
                    "torch": torch.__version__, "threads": torch.get_num_threads()}
    demo = tdm.get_preset("demo")
    result["demo_fp32"] = bench_pipeline("demo", demo.resolution, device, torch.float32, warmup, repeats)
    if args.suite == "full":
        dtypes = [("fp32", torch.float32)] + ([("bf16", torch.bfloat16)] if cuda else [])
        for name, dtype in dtypes:
            result[f"sd15_512_{name}"] = bench_pipeline("sd15", 512, device, dtype, warmup, repeats)
            result[f"teacher_unet_512_{name}"] = bench_teacher(device, dtype, warmup, repeats)
        if cuda:
            result["sd15_512_bf16_batch8"] = bench_pipeline("sd15", 512, device, torch.bfloat16,
                                                            warmup, repeats, batch=8)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
