"""Measure the frame pipeline; prints one JSON line.

python benchmarks/bench_pipeline.py [--frames 48 --width 320 --height 192 --resolution 128
                                     --batch-size 4 --workers 2 --model PATH]

- `io_only_fps`: the local executor with a model that returns zeros: decode thread +
  writer thread (lossless FFV1 matte). This is also the ceiling of the Ray driver, which
  decodes once more and writes every chunk in order; the Ray executor is only worth its
  single ordered writer while `io_only_fps` stays well above the model's fps x workers.
- `local_fps`, `ray_fps`: the same clip through the model, in process (torch's default
  threads) and on N Ray CPU actors (a local Ray instance with every core, CPUs/N threads
  each). `ray_equals_local` compares the Ray matte with a local one made at the actors'
  thread count (CPU float sums depend on it; at another count a few pixels differ by one
  level: `ray_equals_local_default_threads`).
- `alpha_bytes_per_frame`: what an actor sends back per frame (uint16 alpha per prompt).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import av  # noqa: F401  (before anything that may import decord)
import numpy as np

import pipelines
import video
from pipelines.job import prepare_job
from pipelines.local import run_local
from pipelines.options import MatteOptions
from pipelines.progress import Progress
from video.synth import make_clip


def zeros_matter(rgb: np.ndarray) -> np.ndarray:
    """Stand-in model: an empty uint16 matte for one prompt."""
    return np.zeros((1,) + rgb.shape[:3], np.uint16)


def io_only_fps(src: str, out: Path, batch_size: int) -> float:
    job = prepare_job(src, "x", str(out), MatteOptions(output_type="alpha", batch_size=batch_size))
    with Progress(job.frames, "io", quiet=True) as bar:
        run_local(job, zeros_matter, bar)
    return job.frames / bar.seconds


def same_alpha(a: Path, b: Path) -> bool:
    return all(np.array_equal(x.alpha, y.alpha) for x, y in zip(
        video.read_frames(str(a), alpha=True), video.read_frames(str(b), alpha=True)))


def timed_matte(src: str, out: Path, **options) -> tuple[float, dict]:
    t = time.perf_counter()
    result = pipelines.matte_video(src, "the white square", str(out), output_type="alpha",
                                   quiet=True, **options)
    return time.perf_counter() - t, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", help="pipeline folder (default: a random tiny pipeline)")
    args = ap.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = args.model
        if model is None:
            import tdm

            model = str(root / "model")
            tdm.build_pipeline("tiny", seed=0).save_pretrained(model)
        src = make_clip(str(root / "clip.mp4"), frames=args.frames, width=args.width,
                        height=args.height, gop=12)
        io_fps = io_only_fps(src, root / "io.mkv", args.batch_size)
        common = {"model": model, "resolution": args.resolution, "batch_size": args.batch_size}
        local_s, local = timed_matte(src, root / "local.mkv", **common)
        ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False)
        ray_s, remote = timed_matte(src, root / "ray.mkv", ray_address="local",
                                    num_workers=args.workers, **common)
        ray.shutdown()
        timed_matte(src, root / "local-same-threads.mkv", threads=remote["threads"], **common)
        print(json.dumps({
            "clip": f"{args.width}x{args.height} h264, {args.frames} frames",
            "resolution": args.resolution, "batch_size": args.batch_size, "cpus": os.cpu_count(),
            "io_only_fps": round(io_fps, 1),
            "local_fps": local["fps"], "local_wall_s": round(local_s, 2),
            "ray_workers": args.workers, "ray_fps": remote["fps"], "ray_wall_s": round(ray_s, 2),
            "ray_equals_local": same_alpha(root / "ray.mkv", root / "local-same-threads.mkv"),
            "ray_equals_local_default_threads": same_alpha(root / "ray.mkv", root / "local.mkv"),
            "alpha_bytes_per_frame": args.width * args.height * 2,
        }))


if __name__ == "__main__":
    main()
