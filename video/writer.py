"""VideoWriter: alpha / rgba / composite / foreground / preview outputs, audio, atomic rename."""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import av
import numpy as np

from media.pixels import to_uint8
from video.audio import AudioMux
from video.compose import Background, checkerboard, composite, estimate_foreground
from video.errors import VideoError
from video.probe import VideoInfo, probe
from video.reader import DECODE_THREADS, Frame

KINDS = ("alpha", "rgba", "composite", "foreground", "preview")
FOREGROUND_KINDS = ("rgba", "composite", "foreground", "preview")  # kinds that need F
FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
DEFAULT_CRF = {"libx264": 10, "libvpx-vp9": 16}
# Encoder settings besides the CRF, per codec, chosen by `benchmarks/bench_encoders.py`
# (benchmarks/README.md): at 1080p VP9 realtime/cpu-used 8 with row-mt and 4 tile columns
# encodes 4.9x faster than good/cpu-used 4 (crf 20) for -0.9 dB; x264 veryfast at crf 10
# 2.6x faster than medium at crf 12, same PSNR. ProRes 4444: FFmpeg's prores_aw encodes
# 4.5x faster than prores_ks (1080p, 7.8 vs 1.7 fps) at 63.5 vs 68.0 dB and a file 6%
# smaller (alpha alike, 16 bits); prores_ks's options gained nothing.
ENCODER_OPTIONS = {
    "libx264": {"preset": "veryfast"},
    "libvpx-vp9": {"b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1", "tile-columns": "2"},
    "prores_aw": {"profile": "4"},
    "ffv1": {"level": "3", "slices": "4"},
}


def encoder_options(codec: str, crf: int | None = None) -> dict[str, str]:
    """The options `VideoWriter` opens `codec` with (`crf`: None for the codec's default)."""
    opts = dict(ENCODER_OPTIONS.get(codec, {}))
    if codec in DEFAULT_CRF:
        opts["crf"] = str(crf if crf is not None else DEFAULT_CRF[codec])
    return opts
FRAME_NAME = re.compile(r"\d{6}\.png")  # the PNG frames a folder output holds
STALE_SECONDS = 60  # an unlocked temporary output this old was left by a run that died


def part_pattern(path: str | os.PathLike) -> re.Pattern:
    """The temporary names a VideoWriter uses for ``path``: ``.NAME.<8 hex>.part``."""
    return re.compile(rf"\.{re.escape(Path(path).name)}\.[0-9a-f]{{8}}\.part")


def remove_stale_parts(path: str | os.PathLike) -> list[str]:
    """Delete what killed runs left beside ``path`` (their ``.NAME.<8 hex>.part``) and
    return the names removed. Only that exact pattern for this output name, only when
    older than STALE_SECONDS, and only when no process holds its lock (a live writer
    keeps one on its temporary output, so another run's output in progress stays)."""
    path = Path(path)
    pattern, removed = part_pattern(path), []
    try:
        entries = [e for e in os.scandir(path.parent) if pattern.fullmatch(e.name)]
    except OSError:
        return removed
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
            if time.time() - st.st_mtime < STALE_SECONDS or not (
                    stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if stat.S_ISREG(st.st_mode):
                os.unlink(entry.path)
            elif all(FRAME_NAME.fullmatch(name) for name in os.listdir(entry.path)):
                shutil.rmtree(entry.path)
            else:
                continue
            removed.append(entry.name)
        except OSError:  # locked by a live writer, or not ours to remove
            continue
        finally:
            os.close(fd)
    return removed


def hold_lock(path: Path, create: bool = False) -> int:
    """An open descriptor holding a shared flock on ``path`` (a file or folder; `create`:
    a new empty file) for as long as it stays open: the mark of a live writer that
    `remove_stale_parts` respects."""
    fd = os.open(path, os.O_RDONLY | (os.O_CREAT | os.O_EXCL if create else 0), 0o666)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def check_replaceable(path: str | os.PathLike, folder: bool) -> None:
    """Refuse to replace anything at ``path`` but an output of the same form: a file by a
    file, and a folder (PNG sequence) only by a folder that is empty or holds nothing but
    our own frames. Raises VideoError with one line; the user's files stay untouched."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if folder and path.is_symlink():
        raise VideoError(f"{path}: is a symbolic link; refusing to replace it with a PNG folder")
    if path.is_dir() != folder:
        what = "a folder" if path.is_dir() else "a file"
        raise VideoError(f"{path}: exists and is {what}; refusing to replace it with "
                         f"{'a PNG folder' if folder else 'a video file'}")
    if folder:
        foreign = next((e.name for e in path.iterdir()
                        if not (FRAME_NAME.fullmatch(e.name) and e.is_file() and not e.is_symlink())), None)
        if foreign is not None:
            raise VideoError(f"{path}: folder holds {foreign!r}, which is not a frame of ours; "
                             "refusing to replace it (choose an empty or new folder)")


@dataclass(frozen=True)
class Encoding:
    """How one output is stored: codec and pixel format inside a container (None: PNG folder)."""

    fmt: str | None
    codec: str
    pix_fmt: str
    has_alpha: bool


def choose_encoding(path: str | os.PathLike, kind: str) -> Encoding:
    """Container from the extension (no extension: PNG folder), codec from the kind."""
    if kind not in KINDS:
        raise VideoError(f"unknown output kind {kind!r} (choose from {', '.join(KINDS)})")
    ext = Path(path).suffix.lower()
    if ext == "":
        return Encoding(None, "png", "gray" if kind == "alpha" else "rgba" if kind == "rgba" else "rgb24",
                        kind == "rgba")
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise VideoError(f"{path}: unsupported output extension {ext!r} "
                         f"(use {', '.join(FORMATS)} or a folder for PNG frames)")
    if kind == "rgba":
        if fmt == "mp4":
            raise VideoError(f"{path}: MP4 cannot carry alpha; use .mov, .webm, .mkv or a folder")
        return {"mov": Encoding("mov", "prores_aw", "yuva444p10le", True),
                "webm": Encoding("webm", "libvpx-vp9", "yuva420p", True),
                "matroska": Encoding("matroska", "ffv1", "bgra", True)}[fmt]
    if fmt == "matroska":
        return Encoding(fmt, "ffv1", "gray" if kind == "alpha" else "bgr0", False)
    if fmt == "webm":
        return Encoding(fmt, "libvpx-vp9", "yuv420p", False)
    return Encoding(fmt, "libx264", "yuv420p", False)


class VideoWriter:
    """Context manager writing one output; `write(frame, alpha)` per source frame.

    path: file (.mp4 .mov .mkv .webm) or a folder (PNG frames named by frame index).
    like: the source's VideoInfo (or path): size, time_base, fps, colour and audio come
    from it; each written frame keeps its source pts. Output goes to a temporary name
    beside `path` and is renamed only when `close()` succeeds; on error nothing is left.
    background: colour, image or video (composite kind). bit_depth: 8 or 16 (PNG only).
    """

    def __init__(self, path: str | os.PathLike, kind: str = "alpha", like: VideoInfo | str | None = None,
                 background=None, audio: bool = True, crf: int | None = None, bit_depth: int = 8,
                 threads: int = DECODE_THREADS):
        if like is None:
            raise VideoError("VideoWriter needs like= (the source VideoInfo or path)")
        self.like = like if isinstance(like, VideoInfo) else probe(like)
        self.path = Path(path)
        self.kind = kind
        self.enc = choose_encoding(path, kind)
        if bit_depth not in (8, 16) or (bit_depth == 16 and self.enc.fmt is not None):
            raise VideoError(f"bit_depth {bit_depth}: only 8, or 16 for PNG folders")
        self.bit_depth = bit_depth
        self.width = self.like.width * (3 if kind == "preview" else 1)
        self.height = self.like.height
        if not self.path.parent.is_dir():
            raise VideoError(f"{self.path}: output folder {self.path.parent} does not exist")
        check_replaceable(self.path, folder=self.enc.fmt is None)
        remove_stale_parts(self.path)
        self._tmp = self.path.parent / f".{self.path.name}.{uuid.uuid4().hex[:8]}.part"
        self._lock: int | None = None  # descriptor holding the lock on self._tmp
        self._bg = Background(background, self.like.width, self.like.height) if kind == "composite" else None
        self._audio_wanted = audio
        self._crf = crf
        self._threads = threads
        self._container = None
        self._stream = None
        self._audio: AudioMux | None = None
        self._first: Frame | None = None
        self._last: Frame | None = None
        self.frames_written = 0
        self._closed = False

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- frames -------------------------------------------------------------------------
    def write(self, frame: Frame, alpha: np.ndarray, foreground: np.ndarray | None = None) -> None:
        """Encode one output frame from the source `frame` and its alpha (H,W) float in [0,1].

        `foreground`: the colour F (H,W,3) uint8 when already estimated (where the matte
        was made); else the colour kinds estimate it here (`estimate_foreground`). A
        `stamp` (no pixels) is enough for mattes, and for rgba, composite and foreground
        outputs given F; a preview shows the source, so it needs the pixels.
        """
        if self._closed:
            raise VideoError(f"{self.path}: writer is closed")
        alpha = np.asarray(alpha, dtype=np.float32)
        size = alpha.shape if frame.rgb is None else frame.rgb.shape[:2]
        if alpha.shape != size or size != (self.like.height, self.like.width):
            self.abort()
            raise VideoError(f"{self.path}: frame {frame.index} is {size} with alpha "
                             f"{alpha.shape}; expected {(self.like.height, self.like.width)}")
        if frame.rgb is None and (self.kind == "preview" or (self.kind != "alpha" and foreground is None)):
            self.abort()
            raise VideoError(f"{self.path}: a {self.kind} output needs frame {frame.index}'s pixels"
                             f"{'' if self.kind == 'preview' else ' or its foreground colour'}")
        try:
            image = self._render(frame, np.clip(alpha, 0.0, 1.0), foreground)
            if self.enc.fmt is None:
                self._write_png(frame.index, image)
            else:
                self._encode(frame, image)
        except BaseException:
            self.abort()
            raise
        self._first = self._first or frame
        self._last = frame
        self.frames_written += 1

    def _render(self, frame: Frame, alpha: np.ndarray, foreground: np.ndarray | None) -> np.ndarray:
        """(H,W) alpha (float) / (H,W,4) rgba / (H,W,3) rgb image for this kind."""
        if self.kind == "alpha":
            return alpha
        fg = estimate_foreground(frame.rgb, alpha) if foreground is None else foreground
        if self.kind == "foreground" or (self.kind == "rgba" and self.bit_depth == 8):
            fg = fg if fg.dtype == np.uint8 else to_uint8(fg)
            return fg if self.kind == "foreground" else np.dstack([fg, to_uint8(alpha)])
        if fg.dtype == np.uint8:
            fg = fg.astype(np.float32) / 255.0
        if self.kind == "rgba":  # 16-bit PNG: alpha keeps its precision
            return np.dstack([fg, alpha])
        if self.kind == "composite":
            return composite(fg, alpha, self._bg.next())
        board = checkerboard(*alpha.shape)
        matte = np.repeat(to_uint8(alpha)[:, :, None], 3, axis=2)
        return np.hstack([frame.rgb, matte, composite(fg, alpha, board)])

    def _write_png(self, index: int, image: np.ndarray) -> None:
        import cv2

        self._tmp.mkdir(exist_ok=True)
        if self._lock is None:
            self._lock = hold_lock(self._tmp)
        full = 65535.0 if self.bit_depth == 16 else 255.0
        img = image.astype(np.float32) if image.dtype != np.uint8 else image.astype(np.float32) / 255.0
        arr = np.clip(np.rint(img * full), 0, full).astype(np.uint16 if self.bit_depth == 16 else np.uint8)
        if arr.ndim == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if arr.shape[2] == 4 else cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(self._tmp / f"{index:06d}.png"), arr):
            raise VideoError(f"{self.path}: could not write frame {index}")

    def _open(self, first: Frame) -> None:
        like = self.like
        self._lock = hold_lock(self._tmp, create=True)  # PyAV creates the file only later
        self._container = av.open(str(self._tmp), "w", format=self.enc.fmt)
        stream = self._container.add_stream(self.enc.codec, rate=like.fps)
        cc = stream.codec_context
        self.enc = self._exact_size_encoding()
        cc.width, cc.height = self.width, self.height
        cc.pix_fmt = self.enc.pix_fmt
        cc.time_base = like.time_base
        stream.time_base = like.time_base
        cc.thread_count = self._threads
        cc.options = encoder_options(self.enc.codec, self._crf)
        self._tag_colour(cc)
        self._stream = stream
        if self._audio_wanted and like.has_audio and not like.is_folder:
            self._audio = AudioMux(self._container, self.enc.fmt, like.path, start=first.time)

    def _exact_size_encoding(self) -> Encoding:
        """H.264 4:2:0 needs even sizes: an odd-size output keeps its exact size with 4:0:0
        (grey mattes, High profile) or 4:4:4 (colour) instead of being padded."""
        odd = self.width % 2 or self.height % 2
        if not (odd and self.enc.codec == "libx264" and self.enc.pix_fmt == "yuv420p"):
            return self.enc
        return replace(self.enc, pix_fmt="gray" if self.kind == "alpha" else "yuv444p")

    def _tag_colour(self, cc) -> None:
        """Copy primaries / transfer / matrix / range to yuv outputs (full range for mattes)."""
        if not self.enc.pix_fmt.startswith("yuv"):
            return
        col = self.like.color
        for key in ("color_primaries", "color_trc", "colorspace"):
            if col.get(key) and col[key] != 2:  # 2 = unspecified
                setattr(cc, key, col[key])
        cc.color_range = 2 if self.kind == "alpha" else (col.get("color_range") or 1)

    def _encode(self, frame: Frame, image: np.ndarray) -> None:
        if self._container is None:
            self._open(frame)
        if image.ndim == 2:
            vf = av.VideoFrame.from_ndarray(to_uint8(image), format="gray")
        elif image.shape[2] == 4:
            rgba = image if image.dtype == np.uint8 else to_uint8(image)
            vf = av.VideoFrame.from_ndarray(rgba, format="rgba")
        else:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        cc = self._stream.codec_context
        kw = {}
        if self.enc.pix_fmt.startswith("yuv"):
            kw = {"dst_color_range": cc.color_range or 1}
            if cc.colorspace in (1, 5, 6, 7, 9):
                kw["dst_colorspace"] = cc.colorspace
        vf = vf.reformat(format=self.enc.pix_fmt, **kw)
        vf.pts = frame.pts
        vf.time_base = self.like.time_base
        if self._audio is not None:
            self._audio.advance(frame.time)
        self._container.mux(self._stream.encode(vf))

    # -- finishing ----------------------------------------------------------------------
    def close(self) -> None:
        """Flush encoders, copy the remaining audio and move the output into place."""
        if self._closed:
            return
        try:
            if self.frames_written == 0:
                raise VideoError(f"{self.path}: no frames were written")
            if self._container is not None:
                self._container.mux(self._stream.encode(None))
                if self._audio is not None:
                    whole = self._last.index >= self.like.num_frames - 1
                    end = None if whole else self._last.time + float(1 / self.like.fps)
                    self._audio.finish(end)
                self._container.close()
            self._replace()
        except BaseException as exc:
            self.abort()
            if isinstance(exc, (av.FFmpegError, OSError)):
                raise VideoError(f"{self.path}: could not write ({exc})") from None
            raise
        finally:
            if self._bg is not None:
                self._bg.close()
            self._unlock()
        self._closed = True

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _replace(self) -> None:
        folder = self.enc.fmt is None
        check_replaceable(self.path, folder)  # again: the path may have changed meanwhile
        if not folder or not self.path.exists():
            os.replace(self._tmp, self.path)
            return
        old = self.path.parent / f".{self.path.name}.{uuid.uuid4().hex[:8]}.old"
        os.replace(self.path, old)
        os.replace(self._tmp, self.path)
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()

    def abort(self) -> None:
        """Drop everything written so far; nothing is left at `path` or the temporary name."""
        if self._closed:
            return
        self._closed = True
        for closer in (self._audio, self._container, self._bg):
            try:
                if closer is not None:
                    closer.close()
            except Exception:  # noqa: BLE001 - cleanup must not hide the original error
                pass
        if self._tmp.is_dir():
            shutil.rmtree(self._tmp, ignore_errors=True)
        elif self._tmp.exists():
            self._tmp.unlink()
        self._unlock()
