"""Batched random access to frames: decord where it agrees with PyAV, PyAV otherwise."""
from __future__ import annotations

import os
from functools import lru_cache

import av  # noqa: F401  (must be imported before decord)
import numpy as np

from video.errors import VideoError
from video.probe import VideoInfo
from video.reader import cached_probe, iter_frames

SEEK_GAP = 48  # decode through gaps shorter than this instead of seeking


def read_frames_at(path: str | os.PathLike, indices, alpha: bool = False) -> np.ndarray:
    """Frames at `indices` (any order, repeats allowed) of a video file or image folder.

    -> (N,H,W,3) uint8 upright RGB; with alpha=True (N,H,W,4) uint8 RGBA whose last
    channel is the stream's alpha (or the luma of a grey matte).
    """
    info = cached_probe(path)
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= info.num_frames):
        raise VideoError(f"{path}: frame index out of range 0..{info.num_frames - 1}")
    if idx.size == 0:
        return np.zeros((0, info.height, info.width, 4 if alpha else 3), np.uint8)
    if not alpha and not info.is_folder and decord_agrees(info):
        try:
            return _decord_batch(info, idx)
        except Exception:  # noqa: BLE001 - decord is optional; PyAV is the reference
            pass
    return _pyav_batch(info, idx, alpha)


def _pyav_batch(info: VideoInfo, idx: np.ndarray, alpha: bool) -> np.ndarray:
    """Decode sorted runs of the wanted frames, seeking only across large gaps."""
    wanted = np.unique(idx)
    got: dict[int, np.ndarray] = {}
    runs = np.split(wanted, np.nonzero(np.diff(wanted) > SEEK_GAP)[0] + 1)
    for run in runs:
        keep = set(run.tolist())
        for frame in iter_frames(info, int(run[0]), int(run[-1]) + 1, alpha):
            if frame.index in keep:
                if alpha:
                    a = np.clip(np.rint(frame.alpha * 255.0), 0, 255).astype(np.uint8)
                    got[frame.index] = np.dstack([frame.rgb, a])
                else:
                    got[frame.index] = frame.rgb
    missing = [int(i) for i in wanted if int(i) not in got]
    if missing:
        raise VideoError(f"{info.path}: frames {missing[:5]} could not be decoded")
    return np.stack([got[int(i)] for i in idx])


def _decord_batch(info: VideoInfo, idx: np.ndarray) -> np.ndarray:
    batch = _decord_reader(info.path).get_batch(idx.tolist()).asnumpy()
    if info.rotation:
        batch = np.rot90(batch, info.rotation // 90, axes=(1, 2))
    return np.ascontiguousarray(batch)


def _decord_reader(path: str):
    import decord

    return decord.VideoReader(path, ctx=decord.cpu(0), num_threads=2)


def decord_agrees(info: VideoInfo) -> bool:
    """Whether decord sees the same frame count, pts and pixels as PyAV (cached per file)."""
    st = os.stat(info.path)
    return _decord_agrees(info.path, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=256)
def _decord_agrees(path: str, size: int, mtime_ns: int) -> bool:
    info = cached_probe(path)
    if not info.frame_pts:
        return False
    try:
        vr = _decord_reader(path)
        n = len(vr)
        if n != info.num_frames:
            return False
        stamps = vr.get_frame_timestamp(np.arange(n))[:, 0]
        ours = np.asarray(info.frame_pts, np.float64) * float(info.time_base)
        tolerance = 0.25 / float(info.fps) + 1e-3
        if np.abs((stamps - stamps[0]) - (ours - ours[0])).max() > tolerance:
            return False
        probe_idx = sorted({0, n // 2, n - 1})
        theirs = _decord_batch(info, np.asarray(probe_idx)).astype(np.int16)
        ref = _pyav_batch(info, np.asarray(probe_idx), False).astype(np.int16)
        return theirs.shape == ref.shape and float(np.abs(theirs - ref).mean()) < 2.0
    except Exception:  # noqa: BLE001 - any decord failure means "use PyAV"
        return False
