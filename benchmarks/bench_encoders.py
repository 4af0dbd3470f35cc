"""Encoder settings per output, by measurement: speed of the codec alone and quality
against the lossless source (PSNR of colour and alpha); prints one JSON line.

    python benchmarks/bench_encoders.py [--size 1920x1080] [--frames 8] [--only webm mov]

Frames: the synthetic generator's textured scene (`tdm.data.synthetic.make_clip`), its
alpha as the alpha channel. Each candidate is `video.writer.ENCODER_OPTIONS`-style options
(and a thread count, 0: the codec's own) for one output; "writer" is what `VideoWriter`
uses now, the other rows hold the settings it used before (good/cpu-used 4/crf 20 for VP9,
x264's default preset at crf 12) and the alternatives measured.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import av  # noqa: F401  (before anything that may import decord)
import numpy as np

import video
from bench_video import encode_frames, to_codec_frame
from video.encoding import choose_encoding, encoder_options

X264 = [
    ("writer", None, 0),
    ("crf12-medium", {"crf": "12"}, 0),
    ("crf12-veryfast", {"crf": "12", "preset": "veryfast"}, 0),
    ("crf12-faster", {"crf": "12", "preset": "faster"}, 0),
    ("crf10-veryfast", {"crf": "10", "preset": "veryfast"}, 0),
]
# output name -> (kind, [(label, options, threads[, codec])]); None options: the writer's own;
# codec: another encoder of the output's format and pixel format
CANDIDATES = {
    "rgba.webm": ("rgba", [
        ("writer", None, 0),
        ("good-cpu4-rowmt-crf20", {"b": "0", "crf": "20", "deadline": "good", "cpu-used": "4", "row-mt": "1"}, 0),
        ("good-cpu4-rowmt-tiles1", {"b": "0", "crf": "20", "deadline": "good", "cpu-used": "4", "row-mt": "1",
                                    "tile-columns": "1"}, 0),
        ("good-cpu5-rowmt-tiles2", {"b": "0", "crf": "20", "deadline": "good", "cpu-used": "5", "row-mt": "1",
                                    "tile-columns": "2"}, 0),
        ("good-cpu8-rowmt-tiles2", {"b": "0", "crf": "20", "deadline": "good", "cpu-used": "8", "row-mt": "1",
                                    "tile-columns": "2"}, 0),
        ("realtime-cpu8-rowmt-tiles2", {"b": "0", "crf": "20", "deadline": "realtime", "cpu-used": "8",
                                        "row-mt": "1", "tile-columns": "2"}, 0),
        ("realtime-cpu6-rowmt-tiles2", {"b": "0", "crf": "20", "deadline": "realtime", "cpu-used": "6",
                                        "row-mt": "1", "tile-columns": "2"}, 0),
        ("realtime-cpu8-crf16-rowmt-tiles2", {"b": "0", "crf": "16", "deadline": "realtime", "cpu-used": "8",
                                              "row-mt": "1", "tile-columns": "2"}, 0),
    ]),
    "rgba.mov": ("rgba", [
        ("writer", None, 0),
        ("ks-alpha8", {"profile": "4", "alpha_bits": "8"}, 0),
        ("ks-alpha16-threads2", {"profile": "4", "alpha_bits": "16"}, 2),
        ("ks-alpha16-mbs8", {"profile": "4", "alpha_bits": "16", "mbs_per_slice": "8"}, 0),
        ("aw-profile4", {"profile": "4"}, 0, "prores_aw"),
    ]),
    "composite.mp4": ("composite", X264),
    "matte.mp4": ("alpha", X264),
}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else round(10 * np.log10(255 ** 2 / mse), 2)


def quality(path: Path, kind: str, rgba: list[np.ndarray]) -> dict:
    """PSNR (dB) of the decoded output: `*_psnr` against the source, `codec_psnr` against
    the source converted to the codec's pixel format and back (what a lossless encoder in
    that format keeps: the codec's own loss, without 4:2:0's)."""
    enc = choose_encoding(path, kind)
    back = list(video.read_frames(str(path), alpha=True))
    if kind == "alpha":
        got = np.stack([np.rint(f.alpha * 255) for f in back])
        kept = np.stack([lossless(f, kind, enc.pix_fmt)[1] for f in rgba])
        return {"alpha_psnr": psnr(got, np.stack([f[:, :, 3] for f in rgba])), "codec_psnr": psnr(got, kept)}
    colour = np.stack([f.rgb for f in back])
    out = {"rgb_psnr": psnr(colour, np.stack([f[:, :, :3] for f in rgba])),
           "codec_psnr": psnr(colour, np.stack([lossless(f, kind, enc.pix_fmt)[0] for f in rgba]))}
    if enc.has_alpha:
        out["alpha_psnr"] = psnr(np.stack([np.rint(f.alpha * 255) for f in back]),
                                 np.stack([f[:, :, 3] for f in rgba]))
    return out


def lossless(rgba: np.ndarray, kind: str, pix_fmt: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The frame after conversion to `pix_fmt` and back, as `video.read_frames` converts
    it: (rgb (H,W,3), alpha (H,W) in 0..255 or None)."""
    from video.reader import convert_frame

    rgb, alpha = convert_frame(to_codec_frame(rgba, kind, pix_fmt), 0, True)
    return rgb, None if alpha is None else np.rint(alpha * 255)


def source_frames(width: int, height: int, frames: int) -> list[np.ndarray]:
    from tdm.data.synthetic import make_clip

    rgb, alpha, _ = make_clip(0, frames, (height, width))
    return [np.dstack([f, np.rint(a * 255).astype(np.uint8)]) for f, a in zip(rgb, alpha)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--only", nargs="+", help="extensions to measure, e.g. webm mov")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    rgba = source_frames(width, height, args.frames)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, candidates) in CANDIDATES.items():
            if args.only and Path(name).suffix.lstrip(".") not in args.only:
                continue
            rows = []
            writer_codec = choose_encoding(name, kind).codec
            for label, options, threads, *codec in candidates:
                path = Path(tmp) / f"{label}-{name}"
                seconds = encode_frames(path, kind, rgba, options, threads, *codec)
                rows.append({"label": label, "codec": codec[0] if codec else writer_codec,
                             "options": options or encoder_options(writer_codec),
                             "threads": threads, "fps": round(args.frames / seconds, 2),
                             "mib": round(path.stat().st_size / 2 ** 20, 2), **quality(path, kind, rgba)})
            results[name] = rows
    print(json.dumps({"size": args.size, "frames": args.frames, "results": results}))


if __name__ == "__main__":
    main()
