"""Sparse upsampler cost vs active fraction (torch backend, CPU by default).

Prints one JSON line: for each output size (1080p, 2K) and each soft band width,
the soft band width, the measured active fraction of the last group and the median forward time in ms.
Usage: python benchmarks/bench_refine.py [--device cpu|cuda] [--backend torch|spconv] [--repeats N]

`sparse_speedup` (used by `run.py`): the same layers run densely over every pixel,
divided by the sparse forward, at 2048x2048 with about 5% of the pixels active.
"""
from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from tdm.refine import SparseUpsampler

SIZES = {"1080p": (1080, 1920), "2k": (1152, 2048)}


def soft_alpha(band: float, size: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """(1,1,h,w) alpha at a quarter of ``size``: smooth random blobs, 0/1 except a soft
    band whose width (and so the active area) grows with ``band``."""
    h, w = size[0] // 4, size[1] // 4
    g = torch.Generator().manual_seed(seed)
    noise = torch.nn.functional.interpolate(torch.rand(1, 1, h // 32, w // 32, generator=g), size=(h, w), mode="bicubic")
    return ((noise - 0.5) / band + 0.5).clamp(0, 1)


def trained_upsampler(device: str) -> SparseUpsampler:
    """A SparseUpsampler whose last convs are not zero, as after training: an untrained
    one (zero last convs) only interpolates at inference (`refining_groups`), which
    would time no convolution at all."""
    up = SparseUpsampler()
    for group in up.groups:
        torch.nn.init.normal_(group["out"].weight, std=0.01)
    return up.to(device).eval()


def time_forward(up: SparseUpsampler, image, alpha, backend: str, repeats: int) -> float:
    """Median wall time in ms of one forward."""
    times = []
    for _ in range(repeats + 1):
        if image.is_cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.no_grad():
            up(image, alpha, backend=backend)
        if image.is_cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times[1:])[len(times[1:]) // 2]


def dense_equivalent(up: SparseUpsampler, image: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """The upsampler's two groups as dense 3x3 convolutions over every pixel (what it
    would cost without an active set): image (1,3,H2,W2), alpha (1,1,H,W) -> (1,1,H2,W2)."""
    h2, w2 = image.shape[-2:]
    hidden = None
    for group, size in zip(up.groups, [((h2 + 1) // 2, (w2 + 1) // 2), (h2, w2)]):
        alpha = F.interpolate(alpha, size=size, mode="bilinear", align_corners=False)
        inputs = [alpha, F.interpolate(image, size=size, mode="bilinear", align_corners=False)]
        if hidden is not None:
            inputs.append(F.interpolate(hidden, size=size, mode="bilinear", align_corners=False))
        x = torch.cat(inputs, 1)
        for layer in group["body"]:
            x = F.relu(F.conv2d(x, layer.weight, layer.bias, padding=1), inplace=True)
        hidden = x
        alpha = (alpha + F.conv2d(x, group["out"].weight, group["out"].bias, padding=1)).clamp(0, 1)
    return alpha


def sparse_speedup(device: str = "cpu", size: tuple[int, int] = (2048, 2048), band: float = 0.02,
                   repeats: int = 1) -> dict:
    """Dense-equivalent ms / sparse ms of one forward; `band` 0.02 leaves ~5% active at 2K."""
    torch.manual_seed(0)
    up = trained_upsampler(device)
    image = torch.rand(1, 3, *size, device=device) * 2 - 1
    alpha = soft_alpha(band, size).to(device)
    active = up.active_mask(F.interpolate(alpha, size=size, mode="bilinear")).float().mean().item()
    sparse = time_forward(up, image, alpha, up.resolve_backend(image.device), repeats)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        with torch.no_grad():
            dense_equivalent(up, image, alpha)
        if image.is_cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000)
    dense = sorted(times[1:])[len(times[1:]) // 2]
    return {"active_fraction": round(active, 4), "sparse_ms": round(sparse, 1),
            "dense_ms": round(dense, 1), "speedup": round(dense / sparse, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bands", type=float, nargs="+", default=[0.01, 0.05, 0.2, 1.0])
    args = parser.parse_args()
    torch.manual_seed(0)
    up = trained_upsampler(args.device)
    results = []
    for name, size in SIZES.items():
        image = torch.rand(1, 3, *size, device=args.device) * 2 - 1
        for band in args.bands:
            alpha = soft_alpha(band, size).to(args.device)
            up_alpha = torch.nn.functional.interpolate(alpha, size=size, mode="bilinear")
            active = up.active_mask(up_alpha).float().mean().item()
            ms = time_forward(up, image, alpha, args.backend, args.repeats)
            results.append({"size": name, "band": band, "active_fraction": round(active, 4), "ms": round(ms, 1)})
    print(json.dumps({"device": args.device, "backend": args.backend, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
