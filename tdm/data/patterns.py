"""Surface patterns painted on an object's MAIN part: stripes and spots (plain objects
need no layer).

Each patterned kind has one variant per split (``tdm.data.splits.PATTERNS``), so that the
stripes and spots of held-out scenes are drawn differently from those seen in training.
``paint(kind, variant, (h, w), base, dark, rng)`` -> (h,w,3) float32 colour layer.
"""
from __future__ import annotations

import cv2
import numpy as np

WORD = {"stripes": "striped", "spots": "spotted"}  # the attribute each pattern gives


def _wave(h: int, w: int, rng, freq: float, angle: float, wobble: float) -> np.ndarray:
    """(h,w) phase of stripes at ``freq`` per patch width, bent by ``wobble``."""
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    xs = np.linspace(0, w / max(h, 1), w, dtype=np.float32)[None]
    t = (xs * np.cos(angle) + ys * np.sin(angle)) * (freq * max(h, 1) / max(w, 1)) * 2 * np.pi
    return t + wobble * np.sin(ys * rng.uniform(4, 9) + rng.uniform(0, 6))


def _stripes(variant: str, h: int, w: int, rng) -> np.ndarray:
    freq, angle = rng.uniform(6, 11), rng.uniform(-0.35, 0.35)
    if variant == "wavy":
        return (np.sin(_wave(h, w, rng, freq, angle, 1.2)) > 0.1).astype(np.float32)
    if variant == "straight":
        return (np.sin(_wave(h, w, rng, freq * 0.8, angle, 0.0)) > 0.25).astype(np.float32)
    # broken: tiger-like stripes cut by low-frequency gaps, tapering widths
    s = np.sin(_wave(h, w, rng, freq, angle, 0.6))
    gaps = cv2.resize(rng.standard_normal((5, 5), dtype=np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return ((s > 0.35 + 0.25 * gaps) & (gaps > -0.9)).astype(np.float32)


def _spots(variant: str, h: int, w: int, rng) -> np.ndarray:
    out = np.zeros((h, w), np.uint8)
    if variant == "blotches":
        small = rng.standard_normal((max(2, h // 12), max(2, w // 12)), dtype=np.float32)
        big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        return (big > 0.8).astype(np.float32)
    n = int(rng.integers(8, 22))
    side = max(h, w)
    for _ in range(n):
        c = (int(rng.integers(w)), int(rng.integers(h)))
        r = max(1, int(side * rng.uniform(0.03, 0.08)))
        if variant == "dots":
            cv2.circle(out, c, r, 255, -1, cv2.LINE_AA)
        else:  # rings: rosettes with a hollow centre
            cv2.circle(out, c, r, 255, max(1, r // 3), cv2.LINE_AA)
    return out.astype(np.float32) / 255.0


def paint(kind: str, variant: str, shape: tuple[int, int], base, dark, rng: np.random.Generator) -> np.ndarray:
    """Colour layer (h,w,3) float32: ``base`` RGB with a ``kind`` (stripes, spots) pattern
    in ``dark`` RGB."""
    h, w = shape
    layer = np.empty((h, w, 3), np.float32)
    layer[:] = np.asarray(base, np.float32)
    mask = (_stripes if kind == "stripes" else _spots)(variant, h, w, rng)[..., None]
    return layer * (1 - mask) + np.asarray(dark, np.float32) * mask
