"""Procedural backgrounds for synthetic scenes.

``background(rng, size, split)`` -> ((H,W,3) float32 in [0,1], kind). ``KINDS`` holds
every kind; ``tdm.data.splits.BACKGROUNDS`` says which split draws which (the held-out
kinds of val/test never appear in training). Smooth kinds are made at a reduced size
and resized: every kind costs about a millisecond at 256 px.
"""
from __future__ import annotations

import cv2
import numpy as np

from .splits import backgrounds


def _colour(rng) -> np.ndarray:
    return rng.uniform(0.05, 0.95, 3).astype(np.float32)


def _mix(t: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(h,w) weights in [0,1] -> (h,w,3) blend of colours a and b."""
    return a + (b - a) * t[..., None]


def _up(img: np.ndarray, h: int, w: int) -> np.ndarray:
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)


def _field(rng, h: int, w: int, octaves=(2, 4, 8, 16)) -> np.ndarray:
    """Smooth multi-octave noise in [0,1] on a grid of at most 64x64 (resize it to use)."""
    gh, gw = max(2, min(h, 64)), max(2, min(w, 64))
    acc = np.zeros((gh, gw), np.float32)
    for o in octaves:
        acc += _up(rng.standard_normal((o + 1, o + 1), dtype=np.float32), gh, gw) / o ** 0.7
    return (acc - acc.min()) / (np.ptp(acc) + 1e-6)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Column (h,1) and row (1,w) pixel coordinates."""
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None]


def _noise(rng, h, w):
    return _up(_mix(_field(rng, h, w), _colour(rng), _colour(rng)), h, w)


def _gradient(rng, h, w):
    yy, xx = _grid(min(h, 32), min(w, 32))
    yy, xx = yy / max(1, yy.shape[0] - 1), xx / max(1, xx.shape[1] - 1)
    if rng.random() < 0.5:
        a = rng.uniform(0, 2 * np.pi)
        t = xx * np.cos(a) + yy * np.sin(a)
    else:
        t = np.hypot(xx - rng.uniform(0, 1), yy - rng.uniform(0, 1))
    t = (t - t.min()) / (np.ptp(t) + 1e-6)
    return _up(_mix(t, _colour(rng), _colour(rng)), h, w)


def _stripes(rng, h, w):
    yy, xx = _grid(h, w)
    a, period = rng.uniform(0, np.pi), rng.uniform(0.03, 0.2) * max(h, w)
    t = np.sin((xx * np.cos(a) + yy * np.sin(a)) / period * 2 * np.pi)
    return _mix(np.clip(t * 3, -1, 1) * 0.5 + 0.5, _colour(rng), _colour(rng))


def _checks(rng, h, w):
    cell = int(rng.integers(max(4, min(h, w) // 24), max(6, min(h, w) // 5)))
    yy, xx = _grid(h, w)
    t = ((yy // cell + xx // cell) % 2).astype(np.float32)
    return _mix(t, _colour(rng), _colour(rng))


def _dots(rng, h, w):
    img = np.empty((h, w, 3), np.float32)
    img[:] = _colour(rng)
    for _ in range(int(rng.integers(20, 80))):
        r = int(rng.uniform(0.01, 0.06) * max(h, w)) + 1
        cv2.circle(img, (int(rng.integers(w)), int(rng.integers(h))), r, tuple(map(float, _colour(rng))), -1, cv2.LINE_AA)
    return img


def _landscape(rng, h, w):
    """Sky gradient over a noisy ground with a wavy horizon."""
    sky = _gradient(rng, h, w) * 0.5 + np.array([0.4, 0.6, 0.9], np.float32) * 0.5
    ground = _noise(rng, h, w) * 0.6 + np.array([0.35, 0.5, 0.2], np.float32) * 0.4
    _, xx = _grid(1, w)
    horizon = h * (rng.uniform(0.3, 0.6) + 0.05 * np.sin(xx / w * rng.uniform(2, 9) + rng.uniform(0, 6)))
    below = np.arange(h, dtype=np.float32)[:, None] > horizon
    return np.where(below[..., None], ground, sky)


def _clutter(rng, h, w):
    """Photo-like clutter: layers of random shapes, the far ones blurred."""
    img = _noise(rng, h, w)
    for depth in (3.0, 1.2, 0.0):
        layer, mask = np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(5, 14))):
            c, col = (int(rng.integers(w)), int(rng.integers(h))), tuple(map(float, _colour(rng)))
            s = int(rng.uniform(0.03, 0.18) * max(h, w)) + 2
            for target, value in ((layer, col), (mask, 1.0)):
                if rng.random() < 0.5:
                    cv2.ellipse(target, c, (s, int(s * rng.uniform(0.3, 1))), rng.uniform(0, 180), 0, 360, value, -1)
                else:
                    cv2.rectangle(target, c, (c[0] + s, c[1] + int(s * rng.uniform(0.3, 2))), value, -1)
        if depth:
            layer, mask = cv2.GaussianBlur(layer, (0, 0), depth), cv2.GaussianBlur(mask, (0, 0), depth)
        img = img * (1 - mask[..., None]) + layer
    return img.clip(0, 1)


def _clouds(rng, h, w):
    """Sky (blue, tinted at random) paler towards the horizon, with soft white clouds
    stretched sideways: thresholded noise (made at most 64 px and resized)."""
    sh, sw = max(2, min(h, 64)), max(2, min(w, 64))
    top = _colour(rng) * rng.uniform(0.2, 0.6) + np.array([0.25, 0.45, 0.9], np.float32) * 0.5
    low = top * 0.4 + _colour(rng) * 0.2 + 0.35
    sky = _mix(np.repeat(np.linspace(0, 1, sh, dtype=np.float32)[:, None] ** 1.5, sw, 1), top, low)
    clouds = _up(_field(rng, 64, 64)[:, :int(rng.integers(24, 48))], sh, sw)
    thr, soft = rng.uniform(0.45, 0.72), rng.uniform(0.12, 0.3)
    t = np.clip((clouds - thr) / soft, 0, 1)
    white = np.float32(1) - _colour(rng) * 0.12
    shade = _up(_field(rng, 16, 16, octaves=(2, 4)), sh, sw) * rng.uniform(0.1, 0.3)  # greyer patches
    cloud = white * (1 - shade)[..., None]
    return _up(sky * (1 - t[..., None]) + cloud * t[..., None], h, w)


def _bands(rng, h, w):
    """Horizontal bands of random colours with wavy, slightly tilted edges (sky, sea, sand,
    fields), each lightly textured."""
    yy, xx = _grid(h, w)
    n = int(rng.integers(3, 7))
    edges = np.sort(rng.uniform(0.08, 0.92, n - 1)) * h
    amp = rng.uniform(0, 0.03, n - 1) * h
    freq = rng.uniform(1, 6, n - 1) * 2 * np.pi / max(w, 1)
    phase = rng.uniform(0, 2 * np.pi, n - 1)
    slope = np.float32(rng.uniform(-0.12, 0.12))
    tilt = slope * (xx - w / 2)
    idx = np.zeros((h, w), np.int64)
    for e, a, f, p in zip(edges, amp, freq, phase):
        idx += yy > e + a * np.sin(xx * f + p) + tilt
    cols = np.stack([_colour(rng) for _ in range(n)])
    grain = _up(_field(rng, h, w, octaves=(4, 8, 16)), h, w)
    return (cols[idx] * (0.85 + 0.3 * grain)[..., None]).clip(0, 1)


def _foliage(rng, h, w):
    """Dense leaves: pointed leaf shapes in shades between two colours, the darker ones
    behind, over a dark ground (made at half size, one fill per shade)."""
    sh, sw = max(2, h // 2), max(2, w // 2)
    a, b = _colour(rng), _colour(rng)
    img = np.empty((sh, sw, 3), np.float32)
    img[:] = (a + b) * 0.12
    size = rng.uniform(0.04, 0.09) * max(sh, sw)
    n = int(np.clip(3.0 * sh * sw / size ** 2, 20, 400))
    centre = rng.uniform(0, 1, (n, 2)) * np.array([sw, sh])
    ang = rng.uniform(0, 2 * np.pi, n)
    length = size * rng.uniform(0.6, 1.3, n)
    u = np.stack([np.cos(ang), np.sin(ang)], 1)[:, None]
    v = np.stack([-np.sin(ang), np.cos(ang)], 1)[:, None]
    t = np.linspace(-1, 1, 7)
    along = np.concatenate([t, t[::-1][1:-1]])[None, :, None] * length[:, None, None]
    across = np.concatenate([1 - t ** 2, -(1 - t[::-1][1:-1] ** 2)])[None, :, None] * (0.38 * length)[:, None, None]
    leaves = np.round((centre[:, None] + along * u + across * v) * 16).astype(np.int32)
    level = rng.integers(0, 5, n)
    mixes = rng.uniform(0, 1, 5)
    for k in range(5):  # darker shades first: they lie behind
        sel = leaves[level == k]
        if len(sel):
            col = (a + (b - a) * mixes[k]) * (0.45 + 0.15 * k)
            cv2.fillPoly(img, list(sel), tuple(map(float, col.clip(0, 1))), cv2.LINE_AA, 4)
    return _up(img, h, w)


def _bokeh(rng, h, w):
    """Out-of-focus lights: bright blurred discs over a dark gradient (made at 1/4 size)."""
    sh, sw = max(2, h // 4), max(2, w // 4)
    img = _gradient(rng, sh, sw) * 0.35
    for _ in range(int(rng.integers(15, 45))):
        r = int(rng.uniform(0.02, 0.08) * max(sh, sw)) + 1
        col = tuple(map(float, _colour(rng) * rng.uniform(0.3, 0.8)))
        spot = np.zeros_like(img)
        cv2.circle(spot, (int(rng.integers(sw)), int(rng.integers(sh))), r, col, -1, cv2.LINE_AA)
        img += spot
    return _up(cv2.GaussianBlur(img, (0, 0), 1.0).clip(0, 1), h, w)


def _marble(rng, h, w):
    """Veined stone or wood grain: a sine of a turbulent coordinate."""
    yy, xx = _grid(h, w)
    a, f = rng.uniform(0, np.pi), rng.uniform(3, 12) / max(h, w)
    t = np.sin((xx * np.cos(a) + yy * np.sin(a)) * f * 2 * np.pi + _up(_field(rng, h, w), h, w) * rng.uniform(4, 12))
    return _mix(np.abs(t) ** rng.uniform(0.3, 2.0), _colour(rng), _colour(rng))


def _bricks(rng, h, w):
    bh = int(rng.uniform(0.04, 0.12) * h) + 3
    bw = int(bh * rng.uniform(1.8, 3.0))
    yy, xx = _grid(h, w)
    row = (yy // bh).astype(np.int64)
    x = xx + (row % 2) * (bw // 2)
    col = (x // bw).astype(np.int64)
    tones = 1 + rng.uniform(-0.15, 0.15, 64).astype(np.float32)
    brick = _colour(rng)[None, None] * tones[(row * 7 + col * 13) % 64][..., None]
    mortar = (yy % bh < max(1, bh // 8)) | (x % bw < max(1, bh // 8))
    return np.where(mortar[..., None], _colour(rng) * 0.5 + 0.4, brick).clip(0, 1)


def _cells(rng, h, w):
    """Voronoi cells with dark borders (made at half size)."""
    sh, sw = max(2, h // 2), max(2, w // 2)
    n = int(rng.integers(12, 40))
    pts = rng.uniform(0, 1, (n, 2)).astype(np.float32) * np.array([sw, sh], np.float32)
    yy, xx = _grid(sh, sw)
    d = (xx[..., None] - pts[:, 0]) ** 2 + (yy[..., None] - pts[:, 1]) ** 2
    two = np.partition(d, 1, axis=-1)[..., :2]
    near = d.argmin(-1)
    palette = _mix(rng.uniform(0, 1, n).astype(np.float32)[None], _colour(rng), _colour(rng))[0]
    img = palette[near]
    edge = (np.sqrt(two[..., 1]) - np.sqrt(two[..., 0])) < 1.5
    img[edge] *= 0.3
    return _up(img, h, w)


def _room(rng, h, w):
    """A wall with a window or frames above a floor (planks or tiles)."""
    floor_y = int(h * rng.uniform(0.5, 0.75))
    img = np.empty((h, w, 3), np.float32)
    img[:floor_y] = _gradient(rng, floor_y, w) * 0.4 + _colour(rng) * 0.6
    floor = _stripes(rng, h - floor_y, w) if rng.random() < 0.5 else _checks(rng, h - floor_y, w)
    img[floor_y:] = floor * 0.5 + _colour(rng) * 0.5
    img[max(0, floor_y - max(2, h // 40)):floor_y] = _colour(rng) * 0.5
    for _ in range(int(rng.integers(1, 3))):
        x0, y0 = int(rng.uniform(0, 0.8) * w), int(rng.uniform(0.05, 0.3) * h)
        x1, y1 = x0 + int(rng.uniform(0.1, 0.3) * w), min(floor_y - 2, y0 + int(rng.uniform(0.15, 0.35) * h))
        cv2.rectangle(img, (x0, y0), (x1, y1), tuple(map(float, _colour(rng))), -1)
        cv2.rectangle(img, (x0, y0), (x1, y1), tuple(map(float, _colour(rng) * 0.4)), max(1, h // 80))
    return img


KINDS = {"noise": _noise, "gradient": _gradient, "stripes": _stripes, "checks": _checks,
         "dots": _dots, "landscape": _landscape, "clutter": _clutter, "clouds": _clouds, "bands": _bands,
         "foliage": _foliage, "bokeh": _bokeh,
         "marble": _marble, "bricks": _bricks, "cells": _cells, "room": _room}


def background(rng: np.random.Generator, size: tuple[int, int], split: str = "train"
               ) -> tuple[np.ndarray, str]:
    """One random background of ``size`` (h, w) from ``split``'s kinds: ((H,W,3) float32
    in [0,1], and its kind); defocused with p=0.25."""
    h, w = size
    names = backgrounds(split)
    kind = names[int(rng.integers(len(names)))]
    img = KINDS[kind](rng, h, w).astype(np.float32)
    if rng.random() < 0.25:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 2.5) * max(h, w) / 256)
    return np.clip(img, 0, 1, out=img), kind
