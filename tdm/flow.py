"""Dense optical flow between consecutive frames (OpenCV DIS) and backward warping.

Flow here is *backward*: for each pixel x of the current frame, ``flow[x] = (dx, dy)``
such that the previous frame shows the same point at ``x + flow[x]``, so
``warp(previous, flow)`` lays the previous frame (or its alpha) onto the current one.
Flow is computed on grey frames shrunk to ``FLOW_SIDE`` on the long side (DIS is fast,
and matte flicker is not a sub-pixel matter) and scaled up to the frame's size.
"""
from __future__ import annotations

import cv2
import numpy as np

FLOW_SIDE = 320  # long side, px, that flow is computed at
MIN_SIDE = 16    # smaller frames are enlarged to this long side (DIS needs 12 px)


def flow_size(height: int, width: int, side: int = FLOW_SIDE) -> tuple[int, int]:
    """(h, w) of a frame shrunk so that its long side is at most ``side`` (enlarged to
    MIN_SIDE when it is shorter)."""
    scale = min(1.0, side / max(height, width)) if max(height, width) >= MIN_SIDE else MIN_SIDE / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H,W[,C]) -> (h,w[,C]) by area averaging (a copy when the size is unchanged;
    enlarging a tiny frame repeats its pixels)."""
    if image.shape[:2] == size:
        return image.copy()
    return cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def grey(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H,W,3) uint8 RGB -> (h,w) uint8 luma at ``size``."""
    return shrink(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY), size)


def dis(preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> cv2.DISOpticalFlow:
    """A DIS flow estimator (``cv2.DISOPTICAL_FLOW_PRESET_*``); keep one per video, it is
    not thread-safe."""
    return cv2.DISOpticalFlow_create(preset)


def backward_flow(estimator: cv2.DISOpticalFlow, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """(h,w,2) float32 flow from ``current`` back to ``previous`` (both (h,w) uint8)."""
    return estimator.calc(current, previous, None)


def grow_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h,w,2) flow -> (H,W,2) at ``size``, vectors scaled by the size ratio."""
    h, w = flow.shape[:2]
    if (h, w) == size:
        return flow
    big = cv2.resize(flow, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    big[..., 0] *= size[1] / w
    big[..., 1] *= size[0] / h
    return big


def sample_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x + dx, y + dy) as two (H,W) float32 maps for ``cv2.remap``."""
    h, w = flow.shape[:2]
    xs = flow[..., 0] + np.arange(w, dtype=np.float32)[None, :]
    ys = flow[..., 1] + np.arange(h, dtype=np.float32)[:, None]
    return xs, ys


def warp(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The previous frame's (H,W[,C]) image sampled where ``maps`` point (bilinear, borders
    replicated): laid onto the current frame."""
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def inside(maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(H,W) bool: the point came from inside the previous frame (not new at a border)."""
    xs, ys = maps
    h, w = xs.shape
    return (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
