"""Temporal stabiliser: a 3-frame median that drops one-frame outliers, then blending with
the previous output, both along optical flow. A frame's output waits for the next frame.

Per frame t and prompt, with p and n the model's alphas of frames t-1 and t+1 laid onto
frame t by the DIS flow of the frames (``tdm.flow``):

1. ``m_t = median(p, a_t, n)`` where both neighbours are *valid* (the frame matches the
   neighbour warped onto it, in colour, and the point was inside the neighbour's frame),
   else ``m_t = a_t``: a blob or a dropout of one frame is gone, new or uncovered content
   (either neighbour fails) is left as the model gave it. ``s_t`` = 1 where the median
   ran, 0 where it did not.
2. ``out_t = m_t + shrink(c_t * exp(-(d / AGREE_SIGMA)^2) * d)`` with ``d = warp(out_{t-1}) -
   m_t``, ``c_t = W_MAX * photo * warp(s_{t-1})`` and ``shrink(x) = x - clip(x, -DEADBAND,
   DEADBAND)``: ``photo`` is high where frame t matches frame t-1 warped (0 at border
   entries), and ``warp(s_{t-1})`` gives no weight to an output that no median checked
   (the frame after a cut, an entry, an occlusion), so a one-frame error there is never
   carried on; the ``exp`` factor lets a change of the matte far larger than flicker
   through as the model gave it; ``shrink`` drops a pull smaller than DEADBAND, so an
   object that has left or a matte that went to 0 keeps no faint trail of the state.

A scene cut (the grey histograms differ, or most pixels fail the photometric check)
makes both sides of the cut invalid neighbours of each other: the frame after a cut is the
model's alpha unchanged.

``m_t`` and ``c_t`` come from the frames and the model's alphas alone, ``d * exp(-(d/s)^2)``
has a slope in [-0.45, 1], ``shrink`` never grows a difference and neither does bilinear
warping, so two runs that start from different states (a Ray chunk started early, against
one sequential run) differ by at most ``W_MAX ** k`` k frames after their inputs agree:
``chunk_span`` starts a chunk ``WARMUP`` frames early (and reads one batch past its end,
the look-ahead), so it stays within ``TOLERANCE`` of a sequential run. Constants: tuned on
the clips of ``benchmarks/bench_temporal.py --seeds tune``, reported on ``--seeds report``.

Frames larger than WORK_SIDE (long side) are stabilised at that size: the alphas are
shrunk, steps 1-2 run there, and the change they make (``out - a`` at working size) is
enlarged bilinearly and added to the model's full-size alphas, so the model's own edges
stay at full resolution and the cost is that of a WORK_SIDE frame (1080p: every step
was ~6 full-size remaps and a dozen full-size array passes a frame). Enlarging never grows
a difference either, so the chunk tolerance holds at every size.
"""
from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from pipelines.job import Chunk, VideoJob
from pipelines.quantize import dequantize, quantize
from tdm import flow

W_MAX = 0.65         # the most weight the warped previous output ever gets
PHOTO_SIGMA = 0.05   # colour difference (0..1) after warping at which photo = exp(-1)
VALID_ERROR = 0.1    # a neighbour is valid where the colour difference is below this
SLACK = 0.5          # px of flow error forgiven at edges (photometric_error)
AGREE_SIGMA = 2.0    # |alpha - warped previous output| at which agree = exp(-1)
CUT_HISTOGRAM = 0.25  # total-variation distance of 32-bin grey histograms that is a cut
CUT_PHOTO = (0.2, 0.45)  # or: this fraction of pixels differing by more than this after warping
DEADBAND = 2 / 255   # a pull toward the previous output smaller than this is not made
TOLERANCE = 0.5 / 255  # chunked vs sequential output, float alpha: half an 8-bit level
WARMUP = math.ceil(math.log(TOLERANCE) / math.log(W_MAX))  # frames before each chunk
FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM  # DIS's finest scale half the frame (FAST: a quarter)
WORK_SIDE = 640      # long side, px, the stabiliser works at (its change is enlarged to full size)


def histogram(grey: np.ndarray) -> np.ndarray:
    """(32,) grey-level histogram of an (h,w) uint8 frame, summing to 1."""
    counts = np.bincount(grey.ravel() >> 3, minlength=32).astype(np.float64)
    return counts / counts.sum()


def photometric_error(colour: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """(h,w) float32 in 0..1: how far the frame ``colour`` (h,w,3) float32 differs from a
    neighbouring frame warped onto it (``seen``), in its most different channel (a red
    ball over pink bricks differs in colour, hardly in grey), less what a misalignment of
    SLACK px explains at the channel's gradient (edges stay usable under sub-pixel flow
    errors); box-filtered over 3x3."""
    slope = np.abs(cv2.Sobel(colour, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(colour, cv2.CV_32F, 0, 1, ksize=3))
    error = np.abs(colour - seen) - SLACK / 8 * slope
    error = np.maximum(np.maximum(error[..., 0], error[..., 1]), np.maximum(error[..., 2], 0))
    return cv2.blur(error / 255.0, (3, 3))


@dataclass
class Link:
    """How a frame sees a neighbour, at working size (H,W): sampling maps into it, the
    photometric error and where it is a valid neighbour."""

    maps: tuple[np.ndarray, np.ndarray]
    error: np.ndarray
    valid: np.ndarray


@dataclass
class Frame:
    """One frame waiting for its output: colour (h,w,3) float32 and grey (h,w) uint8 at
    flow size, its grey histogram, the model's alphas (P,H,W) float32 at working size and,
    for a frame larger than that, at its own size (P,H',W'), its links."""

    colour: np.ndarray
    grey: np.ndarray
    hist: np.ndarray
    alphas: np.ndarray
    full: np.ndarray | None = None
    back: Link | None = None   # to the previous frame (None: first frame, or after a cut)
    ahead: Link | None = None  # to the next frame (None: last frame, or before a cut)


def median3(p: np.ndarray, a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Element-wise median of three (H,W) float32 arrays (OpenCV's min and max: faster)."""
    return cv2.max(cv2.min(p, a), cv2.min(cv2.max(p, a), n))


class Stabiliser:
    """State of one video (every prompt). ``push`` frames in order; each returns the
    output of the frame pushed before it (it needs its next frame), ``flush`` the last."""

    def __init__(self) -> None:
        self._dis = flow.dis(FLOW_PRESET)
        self.cuts = 0  # scene cuts seen
        self._pending: Frame | None = None
        self._raw: np.ndarray | None = None      # (P,H,W) float32 the model's alphas of the frame output last
        self._state: np.ndarray | None = None    # (P,H,W) float32 its output
        self._checked: np.ndarray | None = None  # (H,W) float32 s: where its median ran

    def push(self, rgb: np.ndarray, alphas: np.ndarray) -> np.ndarray | None:
        """rgb (H,W,3) uint8 and the model's alphas (P,H,W) of the next frame -> the
        stabilised (P,H,W) float32 of the frame pushed before (None for the first)."""
        height, width = rgb.shape[:2]
        size = flow.flow_size(height, width)
        grey = flow.grey(rgb, size)
        frame = Frame(flow.shrink(rgb, size).astype(np.float32), grey, histogram(grey),
                      alphas.astype(np.float32, copy=False))  # held until the next push, never written
        if max(height, width) > WORK_SIDE:
            work = flow.flow_size(height, width, side=WORK_SIDE)
            frame.full, frame.alphas = frame.alphas, np.stack([flow.shrink(a, work) for a in frame.alphas])
        previous, self._pending = self._pending, frame
        if previous is None:
            return None
        self._link(previous, frame)
        return self._finish(previous, frame.alphas)

    def flush(self) -> np.ndarray | None:
        """The last frame's output (no look-ahead), and forget the video."""
        last, self._pending = self._pending, None
        out = None if last is None else self._finish(last, None)
        self._raw = self._state = self._checked = None
        return out

    def _link(self, first: Frame, second: Frame) -> None:
        """Flow both ways between consecutive frames, unless a cut separates them."""
        if 0.5 * np.abs(second.hist - first.hist).sum() > CUT_HISTOGRAM:
            self.cuts += 1
            return
        back = self._see(second, first)
        if (back[1] > CUT_PHOTO[0]).mean() > CUT_PHOTO[1]:
            self.cuts += 1
            return
        shape = first.alphas.shape[1:]
        second.back, first.ahead = self._link_from(back, shape), self._link_from(self._see(first, second), shape)

    def _see(self, frame: Frame, other: Frame) -> tuple[np.ndarray, np.ndarray]:
        """(flow (h,w,2) from ``frame`` into ``other``, photometric error (h,w))."""
        motion = flow.backward_flow(self._dis, other.grey, frame.grey)
        return motion, photometric_error(frame.colour, flow.warp(other.colour, flow.sample_maps(motion)))

    @staticmethod
    def _link_from(seen: tuple[np.ndarray, np.ndarray], shape: tuple[int, int]) -> Link:
        """A Link at working size (H,W) from flow-size flow and error."""
        motion, error = seen
        h, w = shape
        maps = flow.sample_maps(flow.grow_flow(motion, (h, w)))
        error = cv2.resize(error, (w, h), interpolation=cv2.INTER_LINEAR)
        return Link(maps, error, flow.inside(maps) & (error < VALID_ERROR))

    def _finish(self, frame: Frame, following: np.ndarray | None) -> np.ndarray:
        """Steps 1 and 2 of the module doc for ``frame`` at working size, laid onto its
        full-size alphas; ``following``: the next frame's working-size alphas (P,H,W) or
        None."""
        out, back = frame.alphas.copy(), frame.back
        checked = np.zeros(out.shape[1:], np.float32)
        if back is not None and frame.ahead is not None:
            valid = back.valid & frame.ahead.valid
            checked[valid] = 1.0
            for p in range(len(out)):
                med = median3(flow.warp(self._raw[p], back.maps), out[p],
                              flow.warp(following[p], frame.ahead.maps))
                np.copyto(out[p], med, where=valid)
        if back is not None:
            photo = np.exp(-np.square(back.error / PHOTO_SIGMA)) * back.valid
            weight = W_MAX * photo * flow.warp(self._checked, back.maps)
            for p, alpha in enumerate(out):
                change = flow.warp(self._state[p], back.maps) - alpha
                pull = weight * np.exp(-np.square(change / AGREE_SIGMA)) * change
                alpha += pull - np.clip(pull, -DEADBAND, DEADBAND)  # shrink(pull)
        self._raw, self._state, self._checked = frame.alphas, out, checked
        if frame.full is None:
            return out
        h, w = frame.full.shape[1:]
        full = np.empty_like(frame.full)
        for p, (alpha, small) in enumerate(zip(out, frame.alphas)):
            cv2.add(cv2.resize(alpha - small, (w, h), interpolation=cv2.INTER_LINEAR), frame.full[p], dst=full[p])
            np.clip(full[p], 0.0, 1.0, out=full[p])
        return full


def matted(batches: Iterable[list], matter: Callable[[np.ndarray], np.ndarray], stabilise: bool
           ) -> Iterator[tuple[list, np.ndarray, np.ndarray]]:
    """Batches of decoded frames (each with ``.rgb`` (H,W,3) uint8) -> (frames, rgb
    (N,H,W,3), alphas (P,N,H,W) uint16) by ``matter`` (rgb -> alphas, a FrameMatter),
    through ``stabilise_stream`` if ``stabilise``."""
    def raw() -> Iterator[tuple[list, np.ndarray, np.ndarray]]:
        for frames in batches:
            rgb = np.stack([f.rgb for f in frames])
            yield frames, rgb, matter(rgb)
    return stabilise_stream(raw()) if stabilise else raw()


def stabilise_stream(items: Iterable[tuple[list, np.ndarray, np.ndarray]]
                     ) -> Iterator[tuple[list, np.ndarray, np.ndarray]]:
    """Batches (frames (N,), rgb (N,H,W,3) uint8, alphas (P,N,H,W) uint16) in frame order ->
    the same batches with stabilised alphas, each once the next batch has come (the
    look-ahead), the last at the end. ``frames`` is passed through untouched."""
    stabiliser, waiting, outs = Stabiliser(), collections.deque(), []

    def ready() -> Iterator[tuple[list, np.ndarray, np.ndarray]]:
        while waiting and len(outs) >= len(waiting[0][0]):
            frames, rgb = waiting.popleft()
            yield frames, rgb, np.stack([quantize(o) for o in outs[:len(frames)]], axis=1)
            del outs[:len(frames)]

    for frames, rgb, alphas in items:
        waiting.append((frames, rgb))
        for i in range(len(rgb)):
            out = stabiliser.push(rgb[i], dequantize(alphas[:, i]))
            if out is not None:
                outs.append(out)
        yield from ready()
    last = stabiliser.flush()
    if last is not None:
        outs.append(last)
    yield from ready()


def stabilise_clip(frames: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """A whole clip at once: frames (T,H,W,3) uint8, alphas (T,H,W) -> stabilised (T,H,W)
    float32 (not quantised)."""
    stabiliser = Stabiliser()
    outs = [stabiliser.push(f, a[None]) for f, a in zip(frames, alphas)] + [stabiliser.flush()]
    return np.stack([o[0] for o in outs if o is not None])


def chunk_span(job: VideoJob, chunk: Chunk) -> tuple[int, int]:
    """Frames [first, stop) a chunk's stabiliser reads: at least WARMUP frames before the
    chunk and one batch after it (the look-ahead), in whole model batches so that every
    frame is matted in the batch a sequential run has, within the job's frames."""
    batch = job.batch_size
    lead = -(-WARMUP // batch) * batch
    return max(job.start, chunk.start - lead), min(job.stop, chunk.stop + batch)
