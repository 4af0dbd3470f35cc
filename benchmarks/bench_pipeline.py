"""Measure the frame pipeline; prints one JSON line.

python benchmarks/bench_pipeline.py [--frames 48 --width 320 --height 192 --resolution 128
                                     --batch-size 4 --workers 2 --model PATH
                                     --batch-clips 4 --batch-frames 12 --batch-chunk-frames 8
                                     --repeat 2 --only batch]

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
- `batch`: a folder of short clips (each a few chunks, the last one short) on the same
  Ray workers, one video at a time (`RayScheduler(max_open_videos=1)`) and several at
  once (the default), alternated: wall seconds of each run (workers started before), fps of the
  best run, and whether both wrote byte-identical files (.mov).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator

import av  # noqa: F401  (before anything that may import decord)
import numpy as np

import pipelines
import video
from pipelines import distributed
from pipelines.batch import BatchReport, collect
from pipelines.engine import Engine
from pipelines.job import prepare_job
from pipelines.local import run_local
from pipelines.options import MatteOptions
from pipelines.progress import Progress
from pipelines.quantize import quantize
from video.synth import pattern_alpha, write_pattern_clip


def zeros_matter(rgb: np.ndarray) -> np.ndarray:
    """Stand-in model: an empty uint16 matte for one prompt."""
    return np.zeros((1,) + rgb.shape[:3], np.uint16)


def soft_matter(rgb: np.ndarray) -> np.ndarray:
    """Stand-in model: a soft disc (`video.synth.pattern_alpha`) for one prompt, so that
    colour outputs estimate a real foreground."""
    alpha = quantize(pattern_alpha(0, rgb.shape[2], rgb.shape[1]))
    return np.broadcast_to(alpha, (1, rgb.shape[0]) + alpha.shape).copy()


def io_only_fps(src: str, out: Path, batch_size: int, output_type: str = "alpha",
                matter=zeros_matter) -> float:
    """fps of the local executor with a stand-in `matter`: decode, foreground colour
    (colour outputs), conversion and encoding of `out`, no model."""
    job = prepare_job(src, "x", str(out), MatteOptions(output_type=output_type, batch_size=batch_size))
    with Progress(job.frames, "io", quiet=True) as bar:
        run_local(job, matter, bar)
    return job.frames / bar.seconds


def model_only_fps(src: str, model: str, resolution: int | None, batch_size: int) -> float:
    """fps of the model alone (`FrameMatter`, one prompt) on `src`'s frames, decoded
    beforehand, in the batches `tdm-video` runs; one batch of warm-up first."""
    import torch

    from pipelines.frame_matter import FrameMatter
    from pipelines.model_loading import load_inference_pipeline

    frames = np.stack([f.rgb for f in video.read_frames(src)])
    matter = FrameMatter(load_inference_pipeline(model, torch.device("cpu"), torch.float32),
                         ["the white square"], resolution)
    matter(frames[:batch_size])
    t = time.perf_counter()
    for i in range(0, len(frames), batch_size):
        matter(frames[i:i + batch_size])
    return len(frames) / (time.perf_counter() - t)


def ray_fps(src: str, out: Path, workers: int, **options) -> float:
    """fps of the Ray executor on `workers` CPU actors of one thread each, timed from
    when every actor is up (inside a running Ray)."""
    opts = MatteOptions(ray_address="local", num_workers=workers, threads=1, quiet=True, **options)
    with Engine(opts) as engine:
        engine.pool.wait_started()
        job = prepare_job(src, "the white square", str(out), opts)
        t = time.perf_counter()
        engine.run(job)
        return job.frames / (time.perf_counter() - t)


def same_alpha(a: Path, b: Path) -> bool:
    return all(np.array_equal(x.alpha, y.alpha) for x, y in zip(
        video.read_frames(str(a), alpha=True), video.read_frames(str(b), alpha=True)))


def timed_matte(src: str, out: Path, **options) -> tuple[float, dict]:
    t = time.perf_counter()
    result = pipelines.matte_video(src, "the white square", str(out), output_type="alpha",
                                   quiet=True, **options)
    return time.perf_counter() - t, result


def batch_case(root: Path, model: str, args: argparse.Namespace) -> dict:
    """The same short clips on the same Ray workers (started before timing), one video at a
    time vs several at once, alternated `--repeat` times; the best time of each."""
    clips = root / "batch"
    clips.mkdir()
    for i in range(args.batch_clips):
        write_pattern_clip(str(clips / f"clip{i}.mp4"), frames=args.batch_frames, width=args.width,
                           height=args.height, gop=12)
    opts = MatteOptions(model=model, resolution=args.resolution, batch_size=args.batch_size,
                        chunk_frames=args.batch_chunk_frames, ray_address="local",
                        num_workers=args.workers, quiet=True)
    modes = {"sequential": 1, "concurrent": distributed.MAX_OPEN_VIDEOS}
    seconds: dict[str, list[float]] = {name: [] for name in modes}
    with Engine(opts) as engine:
        engine.pool.wait_started()
        for attempt in range(args.repeat):
            for name, max_open in modes.items():
                out = root / f"{name}-{attempt}"
                out.mkdir()
                items = collect([str(clips)], ["the white square"], [f"{out}/{{stem}}.mov"])
                t = time.perf_counter()
                jobs = BatchReport(items, opts, print).jobs(opts)
                for run in distributed.RayScheduler(engine.pool, jobs, max_open).run():
                    assert run.error is None, run.error
                seconds[name].append(time.perf_counter() - t)
    frames = args.batch_clips * args.batch_frames
    best = {name: min(values) for name, values in seconds.items()}
    outputs = {name: sorted((root / f"{name}-0").iterdir()) for name in modes}
    return {
        "clips": args.batch_clips, "frames_each": args.batch_frames,
        "chunk_frames": args.batch_chunk_frames, "workers": args.workers, "repeat": args.repeat,
        **{f"{name}_s": [round(v, 2) for v in values] for name, values in seconds.items()},
        **{f"{name}_fps": round(frames / best[name], 2) for name in modes},
        "speedup": round(best["sequential"] / best["concurrent"], 2),
        "identical": all(a.read_bytes() == b.read_bytes() for a, b in zip(*outputs.values())),
    }


@contextlib.contextmanager
def local_ray() -> Iterator[None]:
    """A private Ray instance with every core of this machine."""
    import ray

    ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()


def clip_case(root: Path, model: str, args: argparse.Namespace) -> dict:
    """One clip: I/O alone, the local executor, and Ray workers (same output?)."""
    src = write_pattern_clip(str(root / "clip.mp4"), frames=args.frames, width=args.width,
                             height=args.height, gop=12)
    io_fps = io_only_fps(src, root / "io.mkv", args.batch_size)
    common = {"model": model, "resolution": args.resolution, "batch_size": args.batch_size}
    local_s, local = timed_matte(src, root / "local.mkv", **common)
    with local_ray():
        ray_s, remote = timed_matte(src, root / "ray.mkv", ray_address="local",
                                    num_workers=args.workers, **common)
    timed_matte(src, root / "local-same-threads.mkv", threads=remote["threads"], **common)
    return {
        "clip": f"{args.width}x{args.height} h264, {args.frames} frames",
        "io_only_fps": round(io_fps, 1),
        "local_fps": local["fps"], "local_wall_s": round(local_s, 2),
        "ray_workers": args.workers, "ray_fps": remote["fps"], "ray_wall_s": round(ray_s, 2),
        "ray_equals_local": same_alpha(root / "ray.mkv", root / "local-same-threads.mkv"),
        "ray_equals_local_default_threads": same_alpha(root / "ray.mkv", root / "local.mkv"),
        "alpha_bytes_per_frame": args.width * args.height * 2,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", help="pipeline folder (default: a random tiny pipeline)")
    ap.add_argument("--batch-clips", type=int, default=4)
    ap.add_argument("--batch-frames", type=int, default=12)
    ap.add_argument("--batch-chunk-frames", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2, help="batch: runs of each mode")
    ap.add_argument("--only", choices=("clip", "batch"), help="run one part only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = args.model
        if model is None:
            import tdm

            model = str(root / "model")
            tdm.build_pipeline("tiny", seed=0).save_pretrained(model)
        report = {"resolution": args.resolution, "batch_size": args.batch_size,
                  "cpus": os.cpu_count()}
        if args.only != "batch":
            report.update(clip_case(root, model, args))
        if args.only != "clip":
            with local_ray():
                report["batch"] = batch_case(root, model, args)
        print(json.dumps(report))


if __name__ == "__main__":
    main()
