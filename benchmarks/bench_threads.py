"""tdm-video's fps by torch threads x OpenCV threads, beside the model alone at the same torch
threads: the quick suite's `pipeline_efficiency` (`run.py`: its 640x360 clip, rgba .mov,
stabiliser on, the shipped demo model) at each setting, the settings alternated --repeats
times. Prints one JSON line.

    python benchmarks/bench_threads.py [--frames N (default: the suite's 48) --repeats 3]
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

from tdm.assets import demo_model

sys.path.insert(0, str(Path(__file__).parent))
from run import SCALES, pipeline_efficiency  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=SCALES["full"]["clip_frames"])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cores, cv_default = torch.get_num_threads(), cv2.getNumThreads()
    settings = sorted({(t, c) for t in (cores, max(1, cores - 1)) for c in (cv_default, 1)}, reverse=True)
    model = str(demo_model())
    result: dict = {"cores": cores}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for threads, cv_threads in settings:
                row = result.setdefault(f"torch{threads}_cv{cv_threads}", {"model_fps": [], "fps": []})
                root = Path(tmp) / f"{rep}-{threads}-{cv_threads}"
                root.mkdir()
                cv2.setNumThreads(cv_threads)
                run = pipeline_efficiency(root, model, SCALES["full"]["clip"], args.frames, threads)
                row["model_fps"].append(run["model_fps"])
                row["fps"].append(run["end_to_end_fps"])
    cv2.setNumThreads(cv_default)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
