"""The model side of the frame pipeline: prompts encoded once, then frame batches ->
mattes, quantised to uint16 (`pipelines.quantize`) as soon as each prompt's alpha exists.
"""
from __future__ import annotations

import numpy as np
import torch

from pipelines.quantize import quantize


class FrameMatter:
    """Prompts encoded once; then frame batches -> alpha (P, N, H, W) uint16 per prompt."""

    def __init__(self, pipe, prompts: list[str], resolution: int | None, square: bool = False):
        self.pipe = pipe
        self.resolution, self.square = resolution, square
        with torch.inference_mode():
            self.embeddings = pipe.encode_prompt(list(prompts))

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """rgb (N,H,W,3) uint8 -> (P,N,H,W) uint16; image latents shared by all prompts."""
        with torch.inference_mode():
            encoded = self.pipe.encode_images(rgb, resolution=self.resolution, square=self.square)
            # each prompt's float alpha is quantised as soon as it exists: one at a time
            return np.stack([quantize(self.pipe.predict_alpha(encoded, self.embeddings[p:p + 1])
                                      .alpha.float().cpu().numpy())
                             for p in range(self.embeddings.shape[0])])
