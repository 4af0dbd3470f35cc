"""The one numpy conversion of an image to uint8, for `video` (decoded 16-bit frames,
written mattes and composites), `tdm.data` (alpha PNGs) and `pipelines` (model inputs in
[-1, 1] back to pixels). Torch tensors stay in `tdm` (`TDMImageProcessor`).

A module of its own, not in the package root, because `media` itself imports only the
standard library.
"""
from __future__ import annotations

import numpy as np


def to_uint8(image: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """An image whose values run from ``low`` (0) to ``high`` (255) -> uint8 of the same
    shape, rounded to the nearest value (ties to even) and clipped to [0, 255].

    Float images are scaled in their own dtype; integer ones in float32, and an integer
    image with ``high=255`` (``low=0``) is only cast: ``to_uint8(x, high=65535)`` for 16-bit
    frames, ``to_uint8(x, low=-1)`` for [-1, 1].
    """
    if np.issubdtype(image.dtype, np.integer):
        if low == 0 and high == 255:
            return np.ascontiguousarray(image, dtype=np.uint8)
        image = image.astype(np.float32)
    return np.clip(np.rint((image - low) * (255.0 / (high - low))), 0, 255).astype(np.uint8)
