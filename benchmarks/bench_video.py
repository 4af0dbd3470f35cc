"""Measure PyAV vs decord: sequential and random-access reads; prints one JSON line.

python benchmarks/bench_video.py [--frames 300 --width 640 --height 360 --samples 32]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import av  # noqa: F401  (before decord)
import numpy as np

import video
from video.random_access import _decord_reader, _pyav_batch, decord_agrees
from video.synth import write_pattern_clip


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


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
