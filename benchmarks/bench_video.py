"""Measure PyAV vs decord: sequential and random-access reads; prints one JSON line.

python benchmarks/bench_video.py [--frames 300 --width 640 --height 360 --samples 32]

`raw_encode_fps` (used by `run.py`): a codec's own speed, frames already in its pixel
format, with the options `VideoWriter` uses: the ceiling of an output of that codec.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import av  # noqa: F401  (before decord)
import numpy as np

import video
from video.random_access import _decord_reader, _pyav_batch, decord_agrees
from video.synth import pattern, pattern_alpha, write_pattern_clip
from video.encoding import choose_encoding, encoder_options


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def sample_frames(width: int, height: int, frames: int) -> list[np.ndarray]:
    """(H,W,4) uint8 RGBA frames: the moving test pattern, its soft disc as alpha."""
    return [np.dstack([pattern(i, width, height), np.rint(pattern_alpha(i, width, height) * 255)])
            .astype(np.uint8) for i in range(frames)]


def to_codec_frame(rgba: np.ndarray, kind: str, pix_fmt: str):
    """An (H,W,4) uint8 frame as `kind` shows it (alpha: the grey matte; rgba: all four
    channels; else the colour), converted to `pix_fmt` (a PyAV VideoFrame)."""
    import av

    if kind == "alpha":
        frame, kw = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgba[:, :, 3]), format="gray"), {}
        if pix_fmt.startswith("yuv"):
            kw = {"dst_color_range": 2}
        return frame.reformat(format=pix_fmt, **kw)
    if kind == "rgba":
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgba), format="rgba").reformat(format=pix_fmt)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgba[:, :, :3]), format="rgb24").reformat(format=pix_fmt)


def encode_frames(path: Path, kind: str, rgba: list[np.ndarray], options: dict[str, str] | None = None,
                  threads: int = 0, codec: str | None = None) -> float:
    """Encode RGBA frames as output `path` of `kind` the way `VideoWriter` would (its
    extension picks the codec, unless `codec` names another of the same pixel format;
    `options` replace `encoder_options`, `threads` 0: the codec's default), converted to
    the codec's pixel format beforehand; returns the seconds the encoder alone took."""
    import av

    enc = choose_encoding(path, kind)
    enc = replace(enc, codec=codec or enc.codec)
    height, width = rgba[0].shape[:2]
    images = [to_codec_frame(f, kind, enc.pix_fmt) for f in rgba]
    with av.open(str(path), "w", format=enc.fmt) as out:
        stream = out.add_stream(enc.codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, enc.pix_fmt
        if kind == "alpha" and enc.pix_fmt.startswith("yuv"):
            stream.codec_context.color_range = 2  # full range, like VideoWriter's mattes
        stream.codec_context.thread_count = threads
        stream.codec_context.options = encoder_options(enc.codec) if options is None else options
        t = time.perf_counter()
        for i, image in enumerate(images):
            image.pts = i
            out.mux(stream.encode(image))
        out.mux(stream.encode(None))
        return time.perf_counter() - t


def raw_encode_fps(name: str, kind: str, width: int, height: int, frames: int) -> float:
    """Frames per second of the encoder alone for output `name` of `kind` with the
    writer's settings, on `sample_frames`: the ceiling of an output of that codec."""
    with tempfile.TemporaryDirectory() as tmp:
        return frames / encode_frames(Path(tmp) / name, kind, sample_frames(width, height, frames))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--samples", type=int, default=32)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_pattern_clip(str(Path(tmp) / "bench.mp4"), frames=args.frames, width=args.width,
                                  height=args.height, gop=30, options={"bf": "2"})
        info = video.probe(path)
        idx = np.random.default_rng(0).integers(0, info.num_frames, args.samples)
        n = info.num_frames
        pyav_seq = _timed(lambda: sum(1 for _ in video.read_frames(path)))
        vr = _decord_reader(path)
        decord_seq = _timed(lambda: [vr[i].asnumpy() for i in range(n)])
        pyav_rand = _timed(lambda: _pyav_batch(info, idx, False))
        decord_rand = _timed(lambda: _decord_reader(path).get_batch(idx.tolist()).asnumpy())
        print(json.dumps({
            "clip": f"{args.width}x{args.height} h264 bf=2 gop=30", "frames": n,
            "decord_agrees": decord_agrees(info),
            "pyav_sequential_fps": round(n / pyav_seq, 1),
            "decord_sequential_fps": round(n / decord_seq, 1),
            "pyav_random_ms_per_frame": round(1000 * pyav_rand / len(idx), 2),
            "decord_random_ms_per_frame": round(1000 * decord_rand / len(idx), 2),
            "random_samples": len(idx),
        }))


if __name__ == "__main__":
    main()
