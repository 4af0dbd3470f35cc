"""Temporal stabiliser: each frame's alpha blended with the previous output, warped by flow.

Per frame t and prompt, with d = warp(out_{t-1}) - a_t (warped by the DIS flow of the
frames, ``tdm.flow``):  out_t = a_t + c_t * exp(-(d / AGREE_SIGMA)^2) * d, where

- ``c_t = W_MAX * photo * inside`` comes from the frames alone: ``photo`` is high where
  the frame matches the previous one warped (in colour; new, uncovered or occluding
  content, anything the flow cannot explain gets weight 0) and ``inside`` is 0 where
  content enters at a border;
- the ``exp`` factor lets a change of the matte far larger than flicker through as the
  model gave it.

A scene cut (the grey histograms differ, or most pixels fail the photometric check)
resets the state: the frame after a cut is the model's alpha unchanged.

``d * exp(-(d/s)^2)`` has a slope in [-0.45, 1] and bilinear warping never grows a
difference, so two runs that start from different states (a Ray chunk started
``WARMUP`` frames early, against one sequential run) differ by at most
``W_MAX ** WARMUP`` <= ``TOLERANCE`` after the warm-up. ``warmup_start`` plans those
frames from the job alone. Constants chosen on held-out clips
(benchmarks/bench_temporal.py).
"""
from __future__ import annotations

import math
from typing import Callable

import cv2
import numpy as np

from pipelines.job import Chunk, VideoJob
from pipelines.quantize import dequantize, quantize
from tdm import flow

W_MAX = 0.65         # the most weight the warped previous output ever gets
PHOTO_SIGMA = 0.05   # colour difference (0..1) after warping at which photo = exp(-1)
SLACK = 0.5          # px of flow error forgiven at edges (photometric_error)
AGREE_SIGMA = 2.0   # |alpha - warped previous output| at which agree = exp(-1)
CUT_HISTOGRAM = 0.25  # total-variation distance of 32-bin grey histograms that is a cut
CUT_PHOTO = (0.2, 0.45)  # or: this fraction of pixels differing by more than this after warping
TOLERANCE = 0.5 / 255  # chunked vs sequential output, float alpha: half an 8-bit level
WARMUP = math.ceil(math.log(TOLERANCE) / math.log(W_MAX))  # frames before each chunk


def histogram(grey: np.ndarray) -> np.ndarray:
    """(32,) grey-level histogram of an (h,w) uint8 frame, summing to 1."""
    counts = np.bincount(grey.ravel() >> 3, minlength=32).astype(np.float64)
    return counts / counts.sum()


def photometric_error(colour: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """(h,w) float32 in 0..1: how far the frame ``colour`` (h,w,3) float32 differs from the
    previous frame warped onto it (``seen``), in its most different channel (a red ball
    over pink bricks differs in colour, hardly in grey), less what a misalignment of SLACK
    px explains at the channel's gradient (edges stay usable under sub-pixel flow
    errors); box-filtered over 3x3."""
    slope = np.abs(cv2.Sobel(colour, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(colour, cv2.CV_32F, 0, 1, ksize=3))
    error = np.maximum(np.abs(colour - seen) - SLACK / 8 * slope, 0).max(axis=2)
    return cv2.blur(error / 255.0, (3, 3))


class Stabiliser:
    """State of one video (every prompt); feed frames in order with ``__call__``."""

    def __init__(self) -> None:
        self._dis = flow.dis()
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next frame is taken as the model gave it."""
        self._state: np.ndarray | None = None  # (P,H,W) float32 last output
        self._grey: np.ndarray | None = None   # (h,w) uint8 last frame, flow size
        self._colour: np.ndarray | None = None  # (h,w,3) float32 the same in colour
        self._hist: np.ndarray | None = None
        self.cuts = 0  # resets a scene cut caused

    def __call__(self, rgb: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """rgb (H,W,3) uint8 and the model's alphas (P,H,W) float32 -> stabilised (P,H,W)."""
        size = flow.flow_size(*rgb.shape[:2])
        colour = flow.shrink(rgb, size).astype(np.float32)
        grey, out = flow.grey(rgb, size), alphas.astype(np.float32, copy=True)
        hist = histogram(grey)
        moved = None if self._state is None else self._moved(grey, colour, hist)
        if moved is not None:
            photo, backward = moved
            h, w = alphas.shape[1:]
            maps = flow.sample_maps(flow.grow_flow(backward, (h, w)))
            photo = cv2.resize(photo, (w, h), interpolation=cv2.INTER_LINEAR)
            for p, alpha in enumerate(out):
                change = flow.warp(self._state[p], maps) - alpha
                alpha += photo * np.exp(-np.square(change / AGREE_SIGMA)) * change
        self._state, self._grey, self._colour, self._hist = out, grey, colour, hist
        return out

    def _moved(self, grey: np.ndarray, colour: np.ndarray, hist: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray] | None:
        """W_MAX x the (h,w) photometric and border gates and the (h,w,2) backward flow,
        or None at a scene cut."""
        cut = 0.5 * np.abs(hist - self._hist).sum() > CUT_HISTOGRAM
        if not cut:
            backward = flow.backward_flow(self._dis, self._grey, grey)
            maps = flow.sample_maps(backward)
            diff = photometric_error(colour, flow.warp(self._colour, maps))
            cut = (diff > CUT_PHOTO[0]).mean() > CUT_PHOTO[1]
        if cut:
            self.cuts += 1
            return None
        return (W_MAX * np.exp(-np.square(diff / PHOTO_SIGMA)) * flow.inside(maps)).astype(np.float32), backward


class StabilisedMatter:
    """A frame matter (rgb (N,H,W,3) uint8 -> (P,N,H,W) uint16) whose alphas pass through
    one Stabiliser in the order the batches come."""

    def __init__(self, matter: Callable[[np.ndarray], np.ndarray]):
        self.matter = matter
        self.stabiliser = Stabiliser()

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        alphas = self.matter(rgb)
        out = np.empty_like(alphas)
        for i in range(rgb.shape[0]):
            out[:, i] = quantize(self.stabiliser(rgb[i], dequantize(alphas[:, i])))
        return out


def stabilise_clip(frames: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """A whole clip at once: frames (T,H,W,3) uint8, alphas (T,H,W) -> stabilised (T,H,W)."""
    stabiliser = Stabiliser()
    return np.stack([stabiliser(f, a[None].astype(np.float32))[0] for f, a in zip(frames, alphas)])


def warmup_start(job: VideoJob, chunk: Chunk) -> int:
    """The frame a chunk's stabiliser starts from: at least WARMUP frames before the chunk,
    in whole model batches (so that every frame sees the batches a sequential run has),
    never before the job's first frame."""
    batch = job.batch_size
    lead = -(-WARMUP // batch) * batch
    return max(job.start, chunk.start - lead)
