"""tdm-eval's clip figures: per clip and overall, as the model gave them and stabilised.

A clip's frames come as (image (H,W,3) uint8, prediction (H,W), ground truth (H,W))
triples in frame order. Beside dtSSD and MESSDdt (``tdm.metrics``) every clip gets SAD
and MSE (so that a smoother but wrong matte shows) and the ground-truth-free ``flicker``
(for the ground truth too: what flow errors, occlusions and exits alone give).
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from pipelines.temporal import stabilise_clip
from tdm import metrics

Frame = tuple[np.ndarray, np.ndarray, np.ndarray]
KEYS = ("sad", "mse", "dtssd", "messddt", "flicker")


def scores(frames: np.ndarray, preds: np.ndarray, gts: np.ndarray) -> dict[str, float]:
    """Means over a clip's frames (T,H,W,3), predictions and GT (T,H,W): KEYS."""
    return {"sad": float(np.mean([metrics.sad(p, g) for p, g in zip(preds, gts)])),
            "mse": float(np.mean([metrics.mse(p, g) for p, g in zip(preds, gts)])),
            "dtssd": metrics.dtssd(preds, gts), "messddt": metrics.messddt(preds, gts),
            "flicker": metrics.flicker(preds, frames)}


def score_clip(triples: Sequence[Frame]) -> dict[str, Any]:
    """{"frames": T, KEYS..., "flicker_gt", "stabilised": {KEYS...}} of one clip (T >= 2)."""
    frames, preds, gts = (np.stack(x) for x in zip(*triples))
    stable = stabilise_clip(frames, preds).astype(np.float64)
    return {"frames": len(triples), **scores(frames, preds, gts),
            "flicker_gt": metrics.flicker(gts, frames), "stabilised": scores(frames, stable, gts)}


def score_clips(clips: dict[object, list[Frame]], names: dict[object, str]) -> dict[str, Any]:
    """Every clip of >= 2 frames scored, and the means over clips: {"dtssd", "messddt",
    "flicker", "flicker_gt", "stabilised": {KEYS...}, "clips": [{"clip": names[key], ...}]};
    {} without such clips."""
    per_clip = [{"clip": names[key], **score_clip(triples)} for key, triples in clips.items() if len(triples) >= 2]
    if not per_clip:
        return {}
    mean = lambda rows, key: float(np.mean([r[key] for r in rows]))  # noqa: E731
    return {**{k: mean(per_clip, k) for k in ("dtssd", "messddt", "flicker", "flicker_gt")},
            "stabilised": {k: mean([c["stabilised"] for c in per_clip], k) for k in KEYS},
            "clips": per_clip}


def clip_name(dataset: Any, index: int) -> str:
    """A readable name of the clip item ``index`` belongs to: its ``name``, else its alpha
    source (one per instance in a video dataset)."""
    clip, _ = dataset.locate(index)
    return str(getattr(clip, "name", None) or getattr(clip, "alpha", "clip"))


def clip_table(summary: dict[str, Any]) -> Iterator[str]:
    """Table lines: KEYS as the model gave them and stabilised, overall and per clip."""
    if "stabilised" not in summary:
        return
    rows = [("all clips", summary, summary["stabilised"])]
    rows += [(c["clip"], c, c["stabilised"]) for c in summary["clips"]]
    yield f"{'clip':<24} {'':<11}" + "".join(f"{k:>10}" for k in KEYS)
    for name, raw, stable in rows:
        for label, row in (("model", raw), ("stabilised", stable)):
            yield f"{name[-24:]:<24} {label:<11}" + "".join(f"{row[k]:>10.4g}" for k in KEYS)
