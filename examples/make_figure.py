"""The README's picture: a few frames of the demo clip with the model's real mattes.

Runs a model (default: the shipped demo) on `examples/demo.mp4` for each prompt of
`examples/demo.json`, writes a grid (rows: frames; columns: the frame, then each prompt's
matte beside its ground truth) to `docs/demo.png`, and prints one JSON line with each
prompt's mean IoU (matte > 0.5) against its own ground truth and against the other
prompt's (the instance it should not pick).

    python examples/make_figure.py [--model PATH] [--out docs/demo.png] [--frames 0 24 47]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch

import tdm
import video
from tdm import metrics
from tdm.assets import demo_model
from tdm.pipeline import INFERENCE_ONLY

HERE = Path(__file__).resolve().parent


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean over frames (T,H,W) of ``tdm.metrics.iou``."""
    return float(np.mean([metrics.iou(p, t) for p, t in zip(pred, truth)]))


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 64, 64), 1, cv2.LINE_AA)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(demo_model()))
    ap.add_argument("--out", default=str(HERE.parent / "docs" / "demo.png"))
    ap.add_argument("--frames", type=int, nargs="+", default=[0, 24, 47])
    args = ap.parse_args()
    record = json.loads((HERE / "demo.json").read_text())
    rgb = np.stack([f.rgb for f in video.read_frames(str(HERE / "demo.mp4"))])
    truth = {p: np.stack([f.alpha for f in video.read_frames(str(HERE / m), alpha=True)])
             for p, m in record["mattes"].items()}
    pipe = tdm.TDMPipeline.from_pretrained(args.model, dtype=torch.float32, **INFERENCE_ONLY)
    mattes = {p: pipe(rgb, prompt=p, batch_size=8).alpha for p in record["prompts"]}
    scores = {}
    for p in record["prompts"]:
        other = next(q for q in record["prompts"] if q != p)
        scores[p] = {"iou": round(iou(mattes[p], truth[p]), 4),
                     "iou_other_instance": round(iou(mattes[p], truth[other]), 4)}
    grey = lambda a: np.repeat(np.rint(a * 255).astype(np.uint8)[:, :, None], 3, axis=2)  # noqa: E731
    rows = []
    for i in args.frames:
        cells = [label(rgb[i], f"frame {i}")]
        for p in record["prompts"]:
            cells += [label(grey(mattes[p][i]), f'"{p}"'), label(grey(truth[p][i]), "ground truth")]
        rows.append(np.hstack(cells))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    print(json.dumps({"model": args.model, "figure": args.out, "scores": scores}))


if __name__ == "__main__":
    main()
