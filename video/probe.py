"""Probe a video file or an image folder into a `VideoInfo` (PyAV is the reference)."""
from __future__ import annotations

import errno
import os
import stat
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from media import IMAGE_EXTENSIONS, list_images
from video.errors import VideoError

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


def frame_files(folder: str | os.PathLike) -> list[Path]:
    """The frames of an image-folder video: `media.list_images` (naturally sorted), a
    VideoError when the folder cannot be listed or holds no images."""
    try:
        files = list_images(folder)
    except OSError as exc:
        raise VideoError(f"{folder}: cannot list the folder ({_reason(exc)})") from None
    if not files:
        raise VideoError(f"{folder}: folder holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return files


def open_input(path: str | os.PathLike) -> av.container.InputContainer:
    """Open a media file for reading, turning every failure into a one-line VideoError."""
    if check_file(path).st_size == 0:
        raise VideoError(f"{path}: file is empty")
    try:
        container = av.open(str(path), "r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"{path}: {_why_unreadable(path, _reason(exc))}") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: no video stream")
    return container


NOT_REGULAR = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"))


def check_file(path: str | os.PathLike) -> os.stat_result:
    """`os.stat` of a regular file (symlinks followed); a VideoError naming what is wrong
    otherwise. Pipes and devices are refused: opening or probing them can block forever."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise VideoError(f"{path}: symbolic link loop") from None
        if exc.errno == errno.ENOENT:
            broken = os.path.islink(path)
            raise VideoError(f"{path}: {'broken symbolic link' if broken else 'no such file'}") from None
        raise VideoError(f"{path}: cannot access ({_reason(exc)})") from None
    if not stat.S_ISREG(st.st_mode):
        what = next((name for test, name in NOT_REGULAR if test(st.st_mode)), "not a regular file")
        raise VideoError(f"{path}: is {what}, not a video file or image folder")
    return st


def _why_unreadable(path: str | os.PathLike, reason: str, what: str = "not a readable video") -> str:
    """Why a file gives no frames, in words: an MP4/MOV whose index is missing or cut off
    says so, since nothing can be decoded without it."""
    index = mp4_index_state(path)
    if index == "missing":
        return ("MP4/MOV file has no index (moov atom), as when a recording is cut off before it "
                "is finished; it cannot be decoded without one")
    if index == "cut":
        return "MP4/MOV file's index (moov atom) is cut off; it cannot be decoded without it"
    return f"{what} ({reason})" if reason else what


def mp4_index_state(path: str | os.PathLike) -> str:
    """'ok', 'missing' or 'cut' for the moov atom of an ISO-BMFF file (ftyp first);
    '' for anything else (or a file that cannot be read). Walks the top-level atoms by
    their headers only."""
    try:
        return _mp4_index_state(path)
    except OSError:
        return ""


def _mp4_index_state(path: str | os.PathLike) -> str:
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        pos, first = 0, True
        while pos + 8 <= size:
            f.seek(pos)
            head = f.read(16)
            length, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if first and kind != b"ftyp":
                return ""
            first = False
            if length == 1 and len(head) == 16:
                length = int.from_bytes(head[8:16], "big")
            elif length == 0:
                length = size - pos
            if length < 8:
                break
            if kind == b"moov":
                return "ok" if pos + length <= size else "cut"
            pos += length
    return "" if first else "missing"


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


def probe(path: str | os.PathLike, fps: Fraction | float | None = None) -> VideoInfo:
    """Describe a video file or image folder; `fps` is used for folders (default 30).

    A file that cannot be read to its end (cut off, damaged) is described up to the read
    error, with a warning that says how many frames are lost.
    """
    if Path(path).is_dir():
        return _probe_folder(path, fps)
    container = open_input(path)
    try:
        return _probe_container(container, str(path))
    finally:
        container.close()


def _probe_folder(path, fps) -> VideoInfo:
    import cv2

    files = frame_files(path)
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
    pts, first, error = _scan(container, stream)
    n = len(pts)
    if n == 0 or first is None:
        raise VideoError(f"{path}: {_why_unreadable(path, error, 'video stream has no decodable frames')}")
    rotation = int(round((first.rotation or 0) / 90.0)) * 90 % 360
    rate, duration = _rate_and_duration(stream, pts, tb)
    w, h = (first.height, first.width) if rotation % 180 else (first.width, first.height)
    audio = container.streams.audio
    color = {k: int(getattr(cc, k) or 0) for k in ("color_primaries", "color_trc", "colorspace", "color_range")}
    header = _header_frames(stream, container, pts, tb, rate)
    if error:
        lost = f"{header - n} of {header} frames are lost" if header > n else "the rest is lost"
        warnings.warn(f"{path}: read error after {n} frames ({error}); {lost}", stacklevel=3)
    return VideoInfo(
        path=path, width=w, height=h, fps=rate, num_frames=n, duration=duration,
        time_base=tb, rotation=rotation, has_audio=bool(audio), pix_fmt=first.format.name,
        codec=cc.name, has_alpha=stream_has_alpha(stream),
        audio_codec=audio[0].codec_context.name if audio else "", color=color,
        frame_pts=tuple(pts) if all(p is not None for p in pts) else (),
        header_frames=header,
    )


def _scan(container, stream) -> tuple[list[int | None], av.VideoFrame | None, str]:
    """One pass over the video packets: every pts (sorted when all are known), the first
    decodable frame, and the read error that ended the pass early ('' at a clean end).

    One pass, never a seek back: seeking a cut-off Matroska/MOV file after demuxing it
    fails ("Operation not permitted") where reading it once works.
    """
    pts: list[int | None] = []
    first, error = None, ""
    try:
        for packet in container.demux(stream):
            if packet.is_corrupt:  # cut short by the end of the file: the reader skips it
                continue
            if packet.size:
                pts.append(packet.pts)
            if first is None:
                first = _decode_first(stream, packet)
    except av.FFmpegError as exc:
        error = _reason(exc)
    if all(p is not None for p in pts):
        pts.sort()
    return pts, first, error


def _decode_first(stream, packet) -> av.VideoFrame | None:
    """The first frame decoding `packet` gives (an empty packet flushes), or None."""
    try:
        frames = stream.decode(packet)
    except av.FFmpegError:
        return None
    return frames[0] if frames else None


def _rate_and_duration(stream, pts: list, tb: Fraction) -> tuple[Fraction, float]:
    """Exact fps (the stream's rate when the pts agree with it, else measured) and duration.

    The pts agree when their average rate is the header's, or their median step is: a file
    cut off mid-GOP lacks the B-frames just before its last frame, which skews the average.
    """
    n = len(pts)
    header = stream.average_rate or stream.guessed_rate or stream.base_rate
    header = Fraction(header) if header else None
    if n > 1 and pts[0] is not None and pts[-1] != pts[0]:
        measured = Fraction(n - 1) / ((pts[-1] - pts[0]) * tb)
        if header and abs(header / measured - 1) < 0.01:
            return header, float((pts[-1] - pts[0]) * tb + 1 / measured)
        steps = sorted(b - a for a, b in zip(pts, pts[1:])) if None not in pts else [0]
        median = steps[len(steps) // 2] * tb
        if header and median and abs(header * median - 1) < 0.01:
            return header, float((pts[-1] - pts[0]) * tb + 1 / header)
        rate = measured.limit_denominator(100000)
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
    if not pts or any(p is None for p in pts):
        return 0
    last_end = pts[-1] * tb + 1 / rate
    missing = int((end - last_end) * rate)
    return len(pts) + missing + _lost_before_last(pts, tb, rate) if missing > 1 else 0


def _lost_before_last(pts: list[int], tb: Fraction, rate: Fraction) -> int:
    """Frames missing between the last pts of a cut file: B-frames shown before its last
    frame but stored after it (H.264/HEVC reorder at most 16 frames)."""
    step = 1 / (rate * tb)  # pts units per frame
    tail = pts[-17:]
    return sum(max(0, round((b - a) / step) - 1) for a, b in zip(tail, tail[1:]))
