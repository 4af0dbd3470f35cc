"""Small synthetic clips written with PyAV, for tests and benchmarks."""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np


def pattern(index: int, width: int, height: int) -> np.ndarray:
    """Frame `index` of the test pattern: (H,W,3) uint8 gradient + moving square."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([(xx * 255 // max(width - 1, 1)), (yy * 255 // max(height - 1, 1)),
                    np.full_like(xx, (index * 37) % 256)], axis=2).astype(np.uint8)
    s = max(4, min(width, height) // 4)
    x0 = (index * 5) % max(width - s, 1)
    img[s // 2:s // 2 + s, x0:x0 + s] = (255, 255, 255)
    return img


def pattern_alpha(index: int, width: int, height: int) -> np.ndarray:
    """(H,W) float32 soft disc whose centre moves with `index`."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width * (0.3 + 0.04 * (index % 10)), height / 2
    d = np.hypot(xx - cx, yy - cy) - min(width, height) / 4
    return np.clip(0.5 - d / 6.0, 0.0, 1.0).astype(np.float32)


def write_pattern_clip(path: str, frames: int = 12, width: int = 64, height: int = 48,
                       codec: str = "libx264", pix_fmt: str = "yuv420p", rate: Fraction | int = 30,
                       pts: list[int] | None = None, time_base: Fraction | None = None,
                       rotation: int = 0, audio: str | None = None, alpha: bool = False,
                       gop: int = 4, options: dict | None = None) -> str:
    """Write a clip of `pattern` frames; `pts` gives explicit (VFR) timestamps in `time_base`.

    alpha=True feeds RGBA (pattern_alpha) to an alpha-capable pix_fmt. `audio` names an
    audio encoder (e.g. "aac") for a 440 Hz tone as long as the video.
    """
    rate = Fraction(rate)
    tb = time_base or (1 / rate)
    with av.open(path, "w") as out:
        vs = out.add_stream(codec, rate=rate, options=options or {})
        vs.width, vs.height, vs.pix_fmt = width, height, pix_fmt
        vs.codec_context.time_base = tb
        vs.time_base = tb
        if codec in ("libx264", "libx265", "libvpx-vp9", "mpeg4"):
            vs.codec_context.gop_size = gop
        if rotation:
            vs.set_display_rotation(rotation)
        aus = None
        if audio:
            aus = out.add_stream(audio, rate=48000 if audio == "libopus" else 44100, layout="stereo")
        for i in range(frames):
            rgb = pattern(i, width, height)
            if alpha:
                a = np.rint(pattern_alpha(i, width, height) * 255).astype(np.uint8)
                vf = av.VideoFrame.from_ndarray(np.dstack([rgb, a]), format="rgba")
            else:
                vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf = vf.reformat(format=pix_fmt)
            vf.pts = pts[i] if pts is not None else int(round(i / rate / tb))
            vf.time_base = tb
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        if aus is not None:
            _write_tone(out, aus, frames / float(rate))
    return path


def _write_tone(out, stream, seconds: float) -> None:
    cc = stream.codec_context
    fmt = cc.format.name
    size = cc.frame_size or 1024
    total = int(seconds * cc.sample_rate)
    for start in range(0, total, size):
        n = min(size, total - start)
        t = (np.arange(start, start + n) / cc.sample_rate).astype(np.float32)
        wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        data = np.stack([wave, wave]) if fmt.endswith("p") else np.stack([wave, wave], 1).reshape(1, -1)
        if fmt.startswith("s16"):
            data = (data * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="stereo")
        frame.sample_rate = cc.sample_rate
        frame.pts = start
        frame.time_base = Fraction(1, cc.sample_rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
