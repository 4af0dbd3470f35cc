"""Probe a video file or an image folder into a `VideoInfo` (PyAV is the reference)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from video.errors import VideoError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FOLDER_FPS = Fraction(30)


@dataclass(frozen=True)
class VideoInfo:
    """What a reader or writer needs to know about a video.

    `width`/`height` are after rotation; `fps` is exact (average rate for VFR);
    `num_frames` is counted from packets (or files), never read from the header;
    `frame_pts` lists every frame's pts in presentation order (in `time_base` units);
    `header_frames` is what the container header claims (0 when it does not say), kept
    only to tell how many frames a truncated file lost.
    """

    path: str
    width: int
    height: int
    fps: Fraction
    num_frames: int
    duration: float
    time_base: Fraction
    rotation: int = 0
    has_audio: bool = False
    pix_fmt: str = ""
    codec: str = ""
    has_alpha: bool = False
    is_folder: bool = False
    audio_codec: str = ""
    color: dict = field(default_factory=dict, repr=False)
    frame_pts: tuple[int, ...] = field(default=(), repr=False)
    header_frames: int = 0


def natural_key(name: str) -> list:
    """Sort key that orders 'f2' before 'f10'."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files of a folder, naturally sorted; raise VideoError when there are none."""
    files = [p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file()]
    if not files:
        raise VideoError(f"{folder}: folder holds no images ({', '.join(IMAGE_EXTS)})")
    return sorted(files, key=lambda p: natural_key(p.name))


def open_input(path: str | os.PathLike) -> av.container.InputContainer:
    """Open a media file for reading, turning every failure into a one-line VideoError."""
    p = Path(path)
    if not p.exists():
        raise VideoError(f"{path}: no such file")
    if p.is_file() and p.stat().st_size == 0:
        raise VideoError(f"{path}: file is empty")
    try:
        container = av.open(str(p), "r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"{path}: not a readable video ({_reason(exc)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: no video stream")
    return container


def _reason(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "strerror", None) or exc).split()) or type(exc).__name__


def format_has_alpha(fmt: av.VideoFormat) -> bool:
    """True for pixel formats with an alpha plane, or a palette (GIF transparency)."""
    return fmt.has_palette or any(c.is_alpha for c in fmt.components)


def stream_has_alpha(stream: av.video.stream.VideoStream) -> bool:
    """True when the stream carries alpha (alpha pix_fmt, or VP9 with WebM alpha_mode)."""
    fmt = stream.codec_context.pix_fmt or ""
    if stream.codec_context.name in ("vp8", "vp9"):
        return stream.metadata.get("alpha_mode", stream.metadata.get("ALPHA_MODE", "0")) == "1"
    try:
        return bool(fmt) and format_has_alpha(av.VideoFormat(fmt))
    except (ValueError, av.FFmpegError):
        return False


def packet_pts(container: av.container.InputContainer, stream) -> list[int | None]:
    """Every video packet's pts in presentation order (None entries when the file lacks pts)."""
    pts = [pkt.pts for pkt in container.demux(stream) if pkt.size]
    if all(p is not None for p in pts):
        pts.sort()
    return pts


def probe(path: str | os.PathLike, fps: Fraction | float | None = None) -> VideoInfo:
    """Describe a video file or image folder; `fps` is used for folders (default 30)."""
    if Path(path).is_dir():
        return _probe_folder(path, fps)
    container = open_input(path)
    try:
        return _probe_container(container, str(path))
    finally:
        container.close()


def _probe_folder(path, fps) -> VideoInfo:
    import cv2

    files = list_images(path)
    img = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise VideoError(f"{files[0]}: not a readable image")
    rate = Fraction(fps).limit_denominator(1001000) if fps else DEFAULT_FOLDER_FPS
    channels = 1 if img.ndim == 2 else img.shape[2]
    return VideoInfo(
        path=str(path), width=img.shape[1], height=img.shape[0], fps=rate,
        num_frames=len(files), duration=float(len(files) / rate), time_base=1 / rate,
        pix_fmt={1: "gray", 2: "graya", 3: "rgb24", 4: "rgba"}[channels]
        + ("16" if img.dtype.itemsize == 2 else ""),
        codec="image", has_alpha=channels in (2, 4), is_folder=True,
        frame_pts=tuple(range(len(files))),
    )


def _probe_container(container, path: str) -> VideoInfo:
    stream = container.streams.video[0]
    cc = stream.codec_context
    tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
    rotation, first = _first_frame_facts(container, stream)
    container.seek(0)
    pts = packet_pts(container, stream)
    n = len(pts)
    if n == 0 or first is None:
        raise VideoError(f"{path}: video stream has no decodable frames")
    rate, duration = _rate_and_duration(stream, pts, tb)
    w, h = (first.height, first.width) if rotation % 180 else (first.width, first.height)
    audio = container.streams.audio
    color = {k: int(getattr(cc, k) or 0) for k in ("color_primaries", "color_trc", "colorspace", "color_range")}
    return VideoInfo(
        path=path, width=w, height=h, fps=rate, num_frames=n, duration=duration,
        time_base=tb, rotation=rotation, has_audio=bool(audio), pix_fmt=first.format.name,
        codec=cc.name, has_alpha=stream_has_alpha(stream),
        audio_codec=audio[0].codec_context.name if audio else "", color=color,
        frame_pts=tuple(pts) if all(p is not None for p in pts) else (),
        header_frames=_header_frames(stream, container, pts, tb, rate),
    )


def _rate_and_duration(stream, pts: list, tb: Fraction) -> tuple[Fraction, float]:
    """Exact fps (the stream's rate when the pts agree with it, else measured) and duration."""
    n = len(pts)
    header = stream.average_rate or stream.guessed_rate or stream.base_rate
    header = Fraction(header) if header else None
    if n > 1 and pts[0] is not None and pts[-1] != pts[0]:
        measured = Fraction(n - 1) / ((pts[-1] - pts[0]) * tb)
        rate = header if header and abs(header / measured - 1) < 0.01 else measured.limit_denominator(100000)
        return rate, float((pts[-1] - pts[0]) * tb + 1 / measured)
    rate = header or Fraction(30)
    return rate, float(n / rate)


def _header_frames(stream, container, pts: list, tb: Fraction, rate: Fraction) -> int:
    """Frame count the header claims (nb_frames, or what its duration leaves beyond the
    last packet); 0 when it says nothing."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base:  # both measured from the stream's first pts
        end = (stream.duration + (stream.start_time or 0)) * Fraction(stream.time_base)
    elif container.duration:  # Matroska/WebM store the segment's end time, from 0
        end = Fraction(container.duration, 1_000_000)
    else:
        return 0
    if not pts or pts[-1] is None:
        return 0
    last_end = pts[-1] * tb + 1 / rate
    missing = int((end - last_end) * rate)
    return len(pts) + missing if missing > 1 else 0


def _first_frame_facts(container, stream) -> tuple[int, av.VideoFrame | None]:
    """Rotation (counter-clockwise degrees, multiple of 90) and the first decodable frame."""
    try:
        for frame in container.decode(stream):
            return int(round((frame.rotation or 0) / 90.0)) * 90 % 360, frame
    except av.FFmpegError:
        pass
    return 0, None
