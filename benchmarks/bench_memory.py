"""Peak resident memory of a whole `tdm-video` run, by frame size, length and prompts.

    python benchmarks/bench_memory.py [--sizes 1920x1080 3840x2160] [--frames 15]
        [--prompts 1 50] [--output .mov] [--model PATH] [--batch-size 4]

Each case runs `tdm-video` in a fresh process on a generated H.264 clip (made in a
separate process, so its encoder does not count) and reports that process's peak RSS
(ru_maxrss of the child). Prints one JSON line. Never run as a test.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN = "import sys; from pipelines.cli import video_main; sys.exit(video_main(sys.argv[1:]))"
MAKE = ("import sys; from video.synth import write_pattern_clip; "
        "write_pattern_clip(sys.argv[1], frames=int(sys.argv[2]), width=int(sys.argv[3]), "
        "height=int(sys.argv[4]), audio=None, gop=30)")


def one_case(args: argparse.Namespace, size: str, prompts: int) -> dict:
    width, height = (int(v) for v in size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        clip = str(Path(tmp) / "clip.mp4")
        subprocess.run([sys.executable, "-c", MAKE, clip, str(args.frames), str(width), str(height)],
                       check=True)
        argv = [sys.executable, "-c", RUN, clip, "-o", str(Path(tmp) / f"out{args.output}"),
                "--device", "cpu", "--quiet", "--batch-size", str(args.batch_size)]
        for i in range(prompts):
            argv += ["-p", f"the object number {i}"]
        if args.model:
            argv += ["--model", args.model]
        # measure in a fresh interpreter so earlier cases' peaks do not mask this one
        probe = [sys.executable, "-c",
                 "import resource, subprocess, sys; subprocess.run(sys.argv[1:]); "
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)", *argv]
        started = time.perf_counter()
        out = subprocess.run(probe, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        peak = int(out.stdout.strip().splitlines()[-1]) / 1024
        failed = "error" in out.stderr
    return {"size": size, "frames": args.frames, "prompts": prompts, "output": args.output,
            "peak_rss_mib": round(peak, 1), "seconds": round(seconds, 1), "failed": failed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["1920x1080"])
    ap.add_argument("--frames", type=int, default=15)
    ap.add_argument("--prompts", type=int, nargs="+", default=[1])
    ap.add_argument("--output", default=".mov")
    ap.add_argument("--model")
    ap.add_argument("--batch-size", type=int, default=4)
    args = ap.parse_args()
    cases = [one_case(args, size, p) for size in args.sizes for p in args.prompts]
    print(json.dumps({"bench": "memory", "cases": cases}))


if __name__ == "__main__":
    main()
