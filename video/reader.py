"""Frame-exact decoding with PyAV: full clips, index ranges (for chunks) and image folders."""
from __future__ import annotations

import os
import warnings
from bisect import bisect_left
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from typing import Iterator

import av
import numpy as np

from media.pixels import to_uint8
from video.errors import VideoError
from video.probe import VideoInfo, format_has_alpha, frame_files, open_input, probe

DECODE_THREADS = min(4, os.cpu_count() or 1)


@dataclass
class Frame:
    """One decoded frame: `rgb` (H,W,3) uint8 upright, or None in a `stamp` (its timing
    only); `alpha` (H,W) float32 in [0,1] or None.

    `pts` is in `time_base` units of the source stream; `time` = pts * time_base in seconds.
    """

    index: int
    pts: int
    time: float
    rgb: np.ndarray | None
    alpha: np.ndarray | None = None
    time_base: Fraction = Fraction(1, 1)


def read_frames(path: str | os.PathLike, start: int = 0, stop: int | None = None,
                alpha: bool = False, fps: Fraction | float | None = None) -> Iterator[Frame]:
    """Yield frames `start <= index < stop` of a video file or image folder.

    Seeks to the keyframe before `start` and drops frames by pts, so chunks decoded
    separately join frame-exactly. `alpha=True` fills `Frame.alpha` from the stream's
    alpha channel, or from the luma of a grey matte. `fps` applies to image folders.
    """
    return iter_frames(cached_probe(path, fps), start, stop, alpha)


def stamp(info: VideoInfo, index: int) -> Frame:
    """Frame `index` of a probed video without decoding it: the index, pts and time that
    `read_frames` gives it, and no pixels (for writers that need only the timing)."""
    pts = info.frame_pts[index] if info.frame_pts else index  # a file without a table: the index
    return Frame(index, pts, float(pts * info.time_base), None, None, info.time_base)


def cached_probe(path: str | os.PathLike, fps=None) -> VideoInfo:
    """`probe`, remembered while the file's size and mtime stay the same."""
    st = os.stat(path) if os.path.exists(path) else None
    key = (st.st_size, st.st_mtime_ns) if st else None
    if key is None:
        return probe(path, fps)
    return _probe_cached(str(path), key, None if fps is None else Fraction(fps))


@lru_cache(maxsize=256)
def _probe_cached(path: str, key: tuple, fps) -> VideoInfo:
    return probe(path, fps)


def iter_frames(info: VideoInfo, start: int = 0, stop: int | None = None,
                alpha: bool = False) -> Iterator[Frame]:
    """Frames of an already probed video (see `read_frames`)."""
    stop = info.num_frames if stop is None else min(stop, info.num_frames)
    if start < 0 or start > stop:
        raise VideoError(f"{info.path}: bad frame range {start}:{stop} of {info.num_frames}")
    if info.is_folder:
        return _folder_frames(info, start, stop, alpha)
    return _file_frames(info, start, stop, alpha)


def _folder_frames(info: VideoInfo, start: int, stop: int, alpha: bool) -> Iterator[Frame]:
    import cv2

    files = frame_files(info.path)
    for i in range(start, stop):
        img = cv2.imread(str(files[i]), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise VideoError(f"{files[i]}: not a readable image")
        rgb, a = split_image(img, alpha)
        if rgb.shape[:2] != (info.height, info.width):
            raise VideoError(f"{files[i]}: size {rgb.shape[1]}x{rgb.shape[0]} differs from "
                             f"the first image's {info.width}x{info.height}")
        yield replace(stamp(info, i), rgb=rgb, alpha=a)


def split_image(img: np.ndarray, alpha: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """cv2 image (H,W[,C]) uint8/uint16 BGR(A) -> rgb (H,W,3) uint8, alpha (H,W) float32 or None."""
    import cv2

    scale = 65535.0 if img.dtype == np.uint16 else 255.0
    if img.ndim == 2:
        img = img[:, :, None]
    ch = img.shape[2]
    if ch >= 3:
        color = cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_BGR2RGB)
    else:
        color = np.repeat(img[:, :, :1], 3, axis=2)
    rgb = to_uint8(color, high=scale)
    a = None
    if alpha:
        if ch in (2, 4):
            a = img[:, :, -1].astype(np.float32) / scale
        elif ch == 1:
            a = img[:, :, 0].astype(np.float32) / scale
        else:
            a = cv2.cvtColor(color.astype(np.float32) / scale, cv2.COLOR_RGB2GRAY)
    return rgb, a


def make_decoder(stream, alpha: bool, has_alpha: bool, threads: int = DECODE_THREADS):
    """The decoder for `stream`: libvpx for VP8/VP9 with alpha (ffmpeg's own drops it)."""
    name = stream.codec_context.name
    if alpha and has_alpha and name in ("vp8", "vp9"):
        ctx = av.codec.CodecContext.create("libvpx-vp9" if name == "vp9" else "libvpx", "r")
    else:
        ctx = stream.codec_context
    ctx.thread_type = "AUTO"
    ctx.thread_count = threads
    return ctx


def convert_frame(frame: av.VideoFrame, rotation: int, alpha: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Decoded frame -> upright rgb (H,W,3) uint8 and alpha (H,W) float32 (None unless asked)."""
    rng = frame.color_range or None
    a = None
    if alpha and format_has_alpha(frame.format):
        rgba = frame.reformat(format="rgba", src_color_range=rng).to_ndarray()
        rgb, a = rgba[:, :, :3], rgba[:, :, 3].astype(np.float32) / 255.0
    else:
        rgb = frame.reformat(format="rgb24", src_color_range=rng).to_ndarray()
        if alpha:
            a = frame.reformat(format="gray", src_color_range=rng).to_ndarray().astype(np.float32) / 255.0
    if rotation:
        k = rotation // 90
        rgb = np.rot90(rgb, k)
        a = None if a is None else np.ascontiguousarray(np.rot90(a, k))
    return np.ascontiguousarray(rgb), a


def _file_frames(info: VideoInfo, start: int, stop: int, alpha: bool) -> Iterator[Frame]:
    table = info.frame_pts
    container, decoder = _open_at(info, start, alpha)
    produced = 0
    try:
        stream = container.streams.video[0]
        count = 0
        bad_packets = 0
        for frame in _decode(container, stream, decoder):
            if frame is None:
                bad_packets += 1
                continue
            pts = frame.pts if frame.pts is not None else frame.dts
            if table and pts is not None:
                index = bisect_left(table, pts)
                if index >= len(table) or table[index] != pts:
                    continue
            else:
                index, count = count, count + 1
            if index < start:
                continue
            if index >= stop:
                break
            rgb, a = convert_frame(frame, info.rotation, alpha)
            produced += 1
            yield replace(stamp(info, index), rgb=rgb, alpha=a)  # pts: table[index] == the frame's
            if index == stop - 1:
                break  # done: reading on could only meet the damage that ends a cut file
    finally:
        container.close()
    wanted = stop - start
    if start == 0 and stop == info.num_frames and info.header_frames > wanted + 1:
        wanted = info.header_frames  # the file itself was cut: frames beyond its end are lost
    _warn_lost(info, wanted - produced, bad_packets, wanted)


def _open_at(info: VideoInfo, start: int, alpha: bool):
    """The input container and decoder, positioned at the keyframe before frame `start`.
    Where that seek fails (a cut-off file can refuse it), decoding starts from the top:
    the caller drops frames before `start` by index anyway."""
    container = open_input(info.path)
    stream = container.streams.video[0]
    if info.frame_pts and start > 0:
        try:
            container.seek(info.frame_pts[start], stream=stream, backward=True, any_frame=False)
        except av.FFmpegError:
            container.close()
            container = open_input(info.path)
            stream = container.streams.video[0]
    return container, make_decoder(stream, alpha, info.has_alpha)


def _decode(container, stream, decoder) -> Iterator[av.VideoFrame | None]:
    """Decode packets; a packet that fails to decode, or that the demuxer marks corrupt
    (cut short by the end of the file), yields None instead of raising. Such a packet is
    never fed to the decoder: a frame-threaded decoder fails its flush over it and loses
    the frames it still holds."""
    try:
        for packet in container.demux(stream):
            if packet.is_corrupt:
                yield None
                continue
            try:
                frames = decoder.decode(packet)
            except av.EOFError:
                return
            except av.FFmpegError:
                yield None
                continue
            yield from frames
    except av.FFmpegError:
        yield None


def _warn_lost(info: VideoInfo, lost: int, bad_packets: int, wanted: int) -> None:
    if lost > 0:
        warnings.warn(f"{info.path}: {lost} of {wanted} frames could not be decoded "
                      f"({bad_packets} corrupt packets)", stacklevel=3)
    elif bad_packets:
        warnings.warn(f"{info.path}: {bad_packets} corrupt packets skipped", stacklevel=3)
