"""What each output is encoded as, and its encoder: the picture of an output kind made from a
source frame and its alpha, converted and encoded to packets (no files: `video.writer`)."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import av
import numpy as np

from media.cpu import has_avx512
from media.pixels import to_uint8
from video.compose import Background, checkerboard, composite, estimate_foreground
from video.errors import VideoError
from video.probe import VideoInfo
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
# x264's AVX-512 routines encode the same frames into different bytes from run to run
# (measured: 28 of 150 runs of a 16-frame clip; docs/NOTES.md), which breaks segments
# joining into the same file whoever encoded them; its AVX2 set is deterministic, ~6% slower.
X264_DETERMINISTIC = {"x264-params": "asm=AVX2"} if has_avx512() else {}
ENCODER_OPTIONS = {
    "libx264": {"preset": "veryfast", **X264_DETERMINISTIC},
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


def exact_size_encoding(enc: Encoding, width: int, height: int, kind: str) -> Encoding:
    """H.264 4:2:0 needs even sizes: an odd-size output keeps its exact size with 4:0:0
    (grey mattes, High profile) or 4:4:4 (colour) instead of being padded."""
    odd = width % 2 or height % 2
    if not (odd and enc.codec == "libx264" and enc.pix_fmt == "yuv420p"):
        return enc
    return replace(enc, pix_fmt="gray" if kind == "alpha" else "yuv444p")


class FrameEncoder:
    """The picture of one output kind, made from a source frame and its alpha, and its
    encoder: the codec set-up that every writer of this output shares, so that pieces
    encoded apart (`video.segments`) join into the file one writer would make.

    background_start: the output frame the first picture is (a composite's background
    video is played from there, looped).
    """

    def __init__(self, enc: Encoding, kind: str, like: VideoInfo, background=None,
                 crf: int | None = None, bit_depth: int = 8, threads: int = DECODE_THREADS,
                 background_start: int = 0):
        self.kind, self.like, self.bit_depth = kind, like, bit_depth
        self.width = like.width * (3 if kind == "preview" else 1)
        self.height = like.height
        self.enc = exact_size_encoding(enc, self.width, self.height, kind)
        self._bg = (Background(background, like.width, like.height, start=background_start)
                    if kind == "composite" else None)
        self._crf, self._threads = crf, threads
        self.stream = None

    def check(self, frame: Frame, alpha: np.ndarray, foreground: np.ndarray | None, name) -> None:
        """Raise VideoError unless `alpha` has the source's size and the frame carries what
        this kind needs (`name`: the output, for the message)."""
        size = alpha.shape if frame.rgb is None else frame.rgb.shape[:2]
        if alpha.shape != size or size != (self.like.height, self.like.width):
            raise VideoError(f"{name}: frame {frame.index} is {size} with alpha "
                             f"{alpha.shape}; expected {(self.like.height, self.like.width)}")
        if frame.rgb is None and (self.kind == "preview" or (self.kind != "alpha" and foreground is None)):
            raise VideoError(f"{name}: a {self.kind} output needs frame {frame.index}'s pixels"
                             f"{'' if self.kind == 'preview' else ' or its foreground colour'}")

    def picture(self, frame: Frame, alpha: np.ndarray, foreground: np.ndarray | None, name) -> np.ndarray:
        """`check` the frame, then `render` it with its alpha clipped to [0, 1]."""
        alpha = np.asarray(alpha, dtype=np.float32)
        self.check(frame, alpha, foreground, name)
        return self.render(frame, np.clip(alpha, 0.0, 1.0), foreground)

    def render(self, frame: Frame, alpha: np.ndarray, foreground: np.ndarray | None) -> np.ndarray:
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

    def attach(self, container) -> av.VideoStream:
        """Add this output's video stream, set up for encoding, to an output container."""
        like = self.like
        stream = container.add_stream(self.enc.codec, rate=like.fps)
        cc = stream.codec_context
        cc.width, cc.height = self.width, self.height
        cc.pix_fmt = self.enc.pix_fmt
        cc.time_base = like.time_base
        stream.time_base = like.time_base
        cc.thread_count = self._threads
        cc.options = encoder_options(self.enc.codec, self._crf)
        self._tag_colour(cc)
        self.stream = stream
        return stream

    def _tag_colour(self, cc) -> None:
        """Copy primaries / transfer / matrix / range to yuv outputs (full range for mattes)."""
        if not self.enc.pix_fmt.startswith("yuv"):
            return
        col = self.like.color
        for key in ("color_primaries", "color_trc", "colorspace"):
            if col.get(key) and col[key] != 2:  # 2 = unspecified
                setattr(cc, key, col[key])
        cc.color_range = 2 if self.kind == "alpha" else (col.get("color_range") or 1)

    def encode(self, frame: Frame, image: np.ndarray) -> list[av.Packet]:
        """The packets the attached stream's encoder gives for one rendered picture."""
        if image.ndim == 2:
            vf = av.VideoFrame.from_ndarray(to_uint8(image), format="gray")
        elif image.shape[2] == 4:
            rgba = image if image.dtype == np.uint8 else to_uint8(image)
            vf = av.VideoFrame.from_ndarray(rgba, format="rgba")
        else:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        cc = self.stream.codec_context
        kw = {}
        if self.enc.pix_fmt.startswith("yuv"):
            kw = {"dst_color_range": cc.color_range or 1}
            if cc.colorspace in (1, 5, 6, 7, 9):
                kw["dst_colorspace"] = cc.colorspace
        vf = vf.reformat(format=self.enc.pix_fmt, **kw)
        vf.pts = frame.pts
        vf.time_base = self.like.time_base
        return self.stream.encode(vf)

    def flush(self) -> list[av.Packet]:
        """The packets the encoder still holds."""
        return self.stream.encode(None)

    def close(self) -> None:
        """Stop a composite's background video."""
        if self._bg is not None:
            self._bg.close()
