"""Foreground colour where the mattes are made: blur fusion (`video.compose`'s estimate)
in torch, batched on the model's device, handed to the writers as uint8 F.

On CUDA the torch path runs on the model's GPU; on CPU `video.compose.estimate_foreground`
(in-place numpy + OpenCV, faster there than torch's box filter) runs per frame. Both give
the same F to within one 8-bit level (tests/test_pipelines_foreground.py).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from media.pixels import to_uint8
from pipelines.quantize import ALPHA_SCALE, dequantize
from video.compose import BLUR_RADII, estimate_foreground as estimate_foreground_cpu


def reflect_index(n: int, pad: int, device: torch.device) -> torch.Tensor:
    """(n + 2 pad,) source indices of a reflect-101 padding (OpenCV's default border,
    `dcb|abcd|cba`), reflected again as often as a short side needs."""
    i = torch.arange(-pad, n + pad, device=device)
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    i = i.remainder(period)
    return torch.where(i >= n, period - i, i)


def box_blur(x: torch.Tensor, k: int) -> torch.Tensor:
    """(N,C,H,W) float32 -> the mean over each k x k window (k odd), borders as cv2.blur.

    Separable running sums in float64: O(1) per pixel for any k, and exact enough that
    sums of tiny alphas far from the object keep their ratio (blur fusion divides them).
    """
    pad = k // 2
    out = x
    for dim in (3, 2):
        n = out.shape[dim]
        if pad < n:
            padding = (pad, pad, 0, 0) if dim == 3 else (0, 0, pad, pad)
            padded = F.pad(out, padding, mode="reflect")
        else:
            padded = out.index_select(dim, reflect_index(n, pad, out.device))
        sums = F.pad(padded.cumsum(dim, dtype=torch.float64), (1, 0) if dim == 3 else (0, 0, 1, 0))
        out = (sums.narrow(dim, k, n) - sums.narrow(dim, 0, n)).div_(k).float()
    return out


def estimate_foreground(image: torch.Tensor, alpha: torch.Tensor,
                        radii: tuple[int, ...] = BLUR_RADII) -> torch.Tensor:
    """image (N,3,H,W) float in [0,1], alpha (N,1,H,W) in [0,1] -> F (N,3,H,W) float32,
    the blur-fusion estimate of `video.compose.estimate_foreground`, on their device."""
    img = image.float()
    a = alpha.float().clamp(0, 1)
    fg, bg = img, img
    for r in radii:
        blurred = box_blur(torch.cat([a, fg * a, bg * (1 - a)], dim=1), r | 1)
        blur_a = blurred[:, :1]
        blur_f = blurred[:, 1:4] / (blur_a + 1e-5)
        blur_b = blurred[:, 4:] / ((1 - blur_a) + 1e-5)
        fg = (blur_f + a * (img - a * blur_f - (1 - a) * blur_b)).clamp_(0, 1)
        bg = blur_b
    return fg


class Foregrounds:
    """F for the prompts whose outputs need colour (rgba, composite, foreground, preview).

    `prompts`: those prompt indices; `device`: where the model runs (CUDA: torch, batched;
    else the numpy path, frame by frame).
    """

    def __init__(self, prompts: Iterable[int], device: torch.device | str = "cpu"):
        self.prompts = sorted(set(prompts))
        self.device = torch.device(device)

    def __call__(self, rgb: np.ndarray, alphas: np.ndarray) -> dict[int, np.ndarray]:
        """rgb (N,H,W,3) uint8, alphas (P,N,H,W) uint16 -> {prompt: F (N,H,W,3) uint8}."""
        if not self.prompts:
            return {}
        if self.device.type != "cuda":
            out = {p: np.empty(rgb.shape, np.uint8) for p in self.prompts}  # N may be 0
            for p, fg in out.items():
                for i, (frame, alpha) in enumerate(zip(rgb, alphas[p])):
                    fg[i] = to_uint8(estimate_foreground_cpu(frame, dequantize(alpha)))
            return out
        with torch.inference_mode():
            image = torch.from_numpy(rgb).pin_memory().to(self.device, non_blocking=True)
            image = image.permute(0, 3, 1, 2).float().div_(255)
            out = {}
            for p in self.prompts:
                alpha = torch.from_numpy(alphas[p].astype(np.int32)).pin_memory()
                alpha = alpha.to(self.device, non_blocking=True)[:, None].float().div_(ALPHA_SCALE)
                fg = estimate_foreground(image, alpha).mul_(255).round_().to(torch.uint8)
                out[p] = fg.permute(0, 2, 3, 1).contiguous()
            return {p: fg.cpu().numpy() for p, fg in out.items()}
