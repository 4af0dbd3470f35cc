"""tdm-video's fps by torch threads x OpenCV threads, beside the model alone at the same torch
threads: the quick suite's clip (640x360, rgba .mov, stabiliser on, the shipped demo model),
the four settings alternated --repeats times. Prints one JSON line.

    python benchmarks/bench_threads.py [--frames 48 --repeats 3]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import av  # noqa: F401  (before anything that may import decord)
import cv2
import torch

import pipelines
from tdm.assets import demo_model
from video.synth import write_pattern_clip

sys.path.insert(0, str(Path(__file__).parent))
from bench_pipeline import model_only_fps  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cores, cv_default = torch.get_num_threads(), cv2.getNumThreads()
    settings = sorted({(t, c) for t in (cores, max(1, cores - 1)) for c in (cv_default, 1)}, reverse=True)
    model = str(demo_model())
    result: dict = {"cores": cores}
    with tempfile.TemporaryDirectory() as tmp:
        src = write_pattern_clip(str(Path(tmp) / "clip.mp4"), frames=args.frames, width=640,
                                 height=360, gop=12)
        for rep in range(args.repeats):
            for threads, cv_threads in settings:
                row = result.setdefault(f"torch{threads}_cv{cv_threads}", {"model_fps": [], "fps": []})
                cv2.setNumThreads(cv_threads)
                torch.set_num_threads(threads)
                row["model_fps"].append(round(model_only_fps(src, model, None, 4), 2))
                torch.set_num_threads(cores)
                out = Path(tmp) / f"{rep}-{threads}-{cv_threads}.mov"
                summary = pipelines.matte_video(src, "the white square", str(out), model=model, device="cpu",
                                                batch_size=4, quiet=True, threads=threads)
                row["fps"].append(summary["fps"])
    cv2.setNumThreads(cv_default)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
