"""Procedural backgrounds for synthetic scenes: noise, gradients, stripes, checks, dots, ground/sky.

``background(rng, size)`` -> (H,W,3) float32 in [0,1]; the kinds are listed in ``KINDS``.
"""
from __future__ import annotations

import cv2
import numpy as np


def _colour(rng) -> np.ndarray:
    return rng.uniform(0.05, 0.95, 3).astype(np.float32)


def _noise(rng, h, w) -> np.ndarray:
    """Multi-octave smooth noise mapped between two colours."""
    acc = np.zeros((h, w), np.float32)
    for octave in (4, 8, 16, 32):
        small = rng.normal(0, 1, (octave, octave)).astype(np.float32)
        acc += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) / octave ** 0.7
    t = ((acc - acc.min()) / (np.ptp(acc) + 1e-6))[..., None]
    return _colour(rng) * (1 - t) + _colour(rng) * t


def _gradient(rng, h, w) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:
        a = rng.uniform(0, 2 * np.pi)
        t = xx / w * np.cos(a) + yy / h * np.sin(a)
    else:
        t = np.hypot(xx / w - rng.uniform(0, 1), yy / h - rng.uniform(0, 1))
    t = ((t - t.min()) / (np.ptp(t) + 1e-6))[..., None]
    return _colour(rng) * (1 - t) + _colour(rng) * t


def _stripes(rng, h, w) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, np.pi)
    period = rng.uniform(0.03, 0.2) * max(h, w)
    t = (np.sin((xx * np.cos(a) + yy * np.sin(a)) / period * 2 * np.pi) > 0).astype(np.float32)
    t = cv2.GaussianBlur(t, (0, 0), 1.0)[..., None]
    return _colour(rng) * (1 - t) + _colour(rng) * t


def _checks(rng, h, w) -> np.ndarray:
    cell = int(rng.integers(max(4, min(h, w) // 24), max(6, min(h, w) // 5)))
    yy, xx = np.mgrid[0:h, 0:w]
    t = (((yy // cell) + (xx // cell)) % 2).astype(np.float32)[..., None]
    return _colour(rng) * (1 - t) + _colour(rng) * t


def _dots(rng, h, w) -> np.ndarray:
    img = np.ones((h, w, 3), np.float32) * _colour(rng)
    for _ in range(int(rng.integers(20, 80))):
        r = int(rng.uniform(0.01, 0.06) * max(h, w)) + 1
        centre = (int(rng.integers(w)), int(rng.integers(h)))
        cv2.circle(img, centre, r, tuple(float(v) for v in _colour(rng)), -1, cv2.LINE_AA)
    return img


def _landscape(rng, h, w) -> np.ndarray:
    """Sky gradient over a noisy ground with a wavy horizon."""
    sky = _gradient(rng, h, w) * 0.5 + np.array([0.4, 0.6, 0.9], np.float32) * 0.5
    ground = _noise(rng, h, w) * 0.6 + np.array([0.35, 0.5, 0.2], np.float32) * 0.4
    xx = np.arange(w, dtype=np.float32)
    horizon = h * (rng.uniform(0.3, 0.6) + 0.05 * np.sin(xx / w * rng.uniform(2, 9) + rng.uniform(0, 6)))
    below = (np.arange(h, dtype=np.float32)[:, None] > horizon[None]).astype(np.float32)[..., None]
    return sky * (1 - below) + ground * below


KINDS = {"noise": _noise, "gradient": _gradient, "stripes": _stripes, "checks": _checks,
         "dots": _dots, "landscape": _landscape}


def background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """One random background of ``size`` (h, w): (H,W,3) float32 in [0,1] with light grain."""
    h, w = size
    names = list(KINDS)
    img = KINDS[names[int(rng.integers(len(names)))]](rng, h, w)
    grain = rng.normal(0, 0.01, (h, w, 1)).astype(np.float32)
    return (img + grain).clip(0, 1).astype(np.float32)
