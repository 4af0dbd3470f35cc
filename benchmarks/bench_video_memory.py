"""Peak memory of streaming a video through read_frames -> VideoWriter, by length.

    python benchmarks/bench_video_memory.py [--lengths 100 1000] [--size 320x240] [--kind rgba --ext .webm]

Each length runs in a fresh process that decodes a generated clip (with audio) and
writes an output with a moving matte; the process reports its peak resident memory
(VmHWM). Flat numbers across lengths mean memory does not grow with the video.
Prints one JSON line. Never run as a test.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak resident set size (Linux VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not available")


def stream_once(frames: int, width: int, height: int, kind: str, ext: str) -> dict:
    """Generate a clip of `frames` frames, stream it to an output, report peak RSS."""
    import video
    from video.synth import write_pattern_clip, pattern_alpha

    with tempfile.TemporaryDirectory() as tmp:
        src = write_pattern_clip(str(Path(tmp) / "src.mp4"), frames=frames, width=width, height=height,
                                 audio="aac", gop=30)
        info = video.probe(src)
        with video.VideoWriter(str(Path(tmp) / f"out{ext}"), kind, like=info) as writer:
            for frame in video.read_frames(src):
                writer.write(frame, pattern_alpha(frame.index, width, height))
        return {"frames": frames, "peak_rss_mib": round(peak_rss_mib(), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--kind", default="rgba")
    ap.add_argument("--ext", default=".webm")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    width, height = map(int, args.size.split("x"))
    if args.child is not None:
        print(json.dumps(stream_once(args.child, width, height, args.kind, args.ext)))
        return
    runs = []
    for n in args.lengths:
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--size", args.size,
                              "--kind", args.kind, "--ext", args.ext],
                             check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    print(json.dumps({"size": args.size, "kind": args.kind, "ext": args.ext, "runs": runs}))


if __name__ == "__main__":
    main()
