"""Write the demo clip `examples/demo.mp4` with our own synthetic generator.

Two zebras side by side, walking over a panning background, from the generator's
**test** split (shape families, patterns and backgrounds that training never sees), so
the demo shows the model on a scene it was not trained on. The prompts are "the left
zebra" and "the right zebra", which hold in every frame. The clip is H.264 with a quiet
AAC tone (so the audio path can be seen too); each zebra's ground-truth alpha is written
beside it as an FFV1 grey matte, and the prompts and seed go to demo.json.

    python examples/make_demo.py [--out examples] [--frames 48] [--size 256] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tdm.data import make_pair_clip

SPLIT = "test"


def write_mp4(path: Path, frames: np.ndarray, fps: int) -> None:
    """H.264 video (T,H,W,3 uint8) plus a quiet 440 Hz AAC tone of the same length."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps, options={"crf": "16"})
        vs.height, vs.width = frames.shape[1:3]
        vs.pix_fmt = "yuv420p"
        aus = out.add_stream("aac", rate=44100, layout="stereo")
        for rgb in frames:
            out.mux(vs.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(vs.encode(None))
        samples = int(44100 * len(frames) / fps)
        t = np.arange(samples) / 44100
        tone = (0.05 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        chunk = 1024
        for i in range(0, samples, chunk):
            block = np.stack([tone[i:i + chunk]] * 2)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = 44100, i, Fraction(1, 44100)
            out.mux(aus.encode(frame))
        out.mux(aus.encode(None))


def write_matte(path: Path, alphas: np.ndarray, fps: int) -> None:
    """Ground-truth grey matte (T,H,W float in [0,1]) as lossless FFV1."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("ffv1", rate=fps)
        vs.height, vs.width = alphas.shape[1:3]
        vs.pix_fmt = "gray"
        for a in alphas:
            g = np.rint(np.clip(a, 0, 1) * 255).astype(np.uint8)
            out.mux(vs.encode(av.VideoFrame.from_ndarray(g, format="gray")))
        out.mux(vs.encode(None))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent))
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--fps", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames, alphas, texts = make_pair_clip(args.seed, "zebra", args.frames, args.size, split=SPLIT)
    write_mp4(out / "demo.mp4", frames, args.fps)
    mattes = {}
    for side, alpha, text in zip(("left", "right"), alphas, texts):
        mattes[text] = f"demo_{side}_alpha.mkv"
        write_matte(out / mattes[text], alpha, args.fps)
    record = {"seed": args.seed, "split": SPLIT, "prompts": list(texts), "mattes": mattes,
              "frames": len(frames)}
    (out / "demo.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({**record, "video": str(out / "demo.mp4")}))


if __name__ == "__main__":
    main()
