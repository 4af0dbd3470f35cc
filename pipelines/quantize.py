"""Alpha as it travels from the model to the writers: uint16, the same in every executor,
so local and Ray runs hand the writers bit-identical mattes."""
from __future__ import annotations

import numpy as np

ALPHA_SCALE = 65535.0


def quantize(alpha: np.ndarray) -> np.ndarray:
    """Float alpha (any shape) -> uint16; NaN (no object found) becomes 0, an empty matte."""
    alpha = np.nan_to_num(alpha, nan=0.0, posinf=1.0, neginf=0.0)
    return np.rint(np.clip(alpha, 0.0, 1.0) * ALPHA_SCALE).astype(np.uint16)


def dequantize(alpha: np.ndarray) -> np.ndarray:
    """uint16 alpha -> float32 in [0, 1]."""
    return alpha.astype(np.float32) / ALPHA_SCALE
