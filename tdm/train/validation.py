"""Validation: tdm.metrics and IoU on held-out samples, for a stage or a whole pipeline."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from tdm import metrics

from .batches import collate, load_batch, to_device
from .cache import unwrap

METRICS = ("sad", "mse", "grad", "conn")
# 2: IoU over the samples whose named object is there (version 1 counted a sample naming an
# absent object as IoU 1 when the matte was empty, so an empty model scored its share)
SCORE_VERSION = 2
Predict = Callable[[dict[str, Any]], torch.Tensor]  # batch -> alpha (B,1,H,W) in [0,1]


@torch.no_grad()
def score(predict: Predict, dataset: Any, indices: Sequence[int], batch_size: int,
          device: torch.device) -> dict[str, float]:
    """Mean IoU, SAD, MSE, Grad, Conn of ``predict`` over ``dataset[indices]``.

    Returns ``{"val_iou": ..., "val_absent_alpha": ..., "val_sad": ..., "val_mse": ...,
    "val_grad": ..., "val_conn": ..., "val_swap": ...}``: IoU (matte > 0.5) over the samples
    whose ground truth has an object (alpha > 0.5 somewhere), the mean predicted alpha over
    those that name an absent one (empty ground truth), ``metrics.swap_choice`` over the
    pairs of a dataset of pairs (``group_size`` 2, e.g. ``synthetic:pairs=1``: items 2k and
    2k+1 in ``indices``) that name two instances, the rest over all; a key is left out when
    no sample counts for it. ``batch_size`` is rounded up to whole pairs.
    """
    scores: dict[str, list[float]] = {name: [] for name in ("iou", "absent_alpha", "swap") + METRICS}
    pairs = getattr(unwrap(dataset), "group_size", 1) == 2
    batch_size += batch_size % 2 if pairs else 0
    for start in range(0, len(indices), batch_size):
        chunk = list(indices[start:start + batch_size])
        batch = to_device(collate(load_batch(dataset, chunk)), device)
        pred = predict(batch).float().clamp(0, 1).cpu().numpy()[:, 0]
        gt = batch["alpha"].float().cpu().numpy()[:, 0]
        for k in range(len(chunk) - 1) if pairs else ():
            if chunk[k] % 2 == 0 and chunk[k + 1] == chunk[k] + 1 and gt[k].any() and gt[k + 1].any():
                scores["swap"].append(metrics.swap_choice(pred[k], pred[k + 1], gt[k], gt[k + 1]))
        for p, g in zip(pred, gt):
            if (g > 0.5).any():
                scores["iou"].append(metrics.iou(p, g))
            elif not g.any():
                scores["absent_alpha"].append(float(p.mean()))
            for name in METRICS:
                scores[name].append(float(getattr(metrics, name)(p, g)))
    return {f"val_{name}": float(np.mean(v)) for name, v in scores.items() if v}


def validate(stage: Any, dataset: Any, indices: Sequence[int], batch_size: int,
             device: torch.device) -> dict[str, float]:
    """:func:`score` of ``stage.predict_alpha``, the stage in eval mode meanwhile."""
    was_training = stage.training
    stage.eval()
    try:
        return score(stage.predict_alpha, dataset, indices, batch_size, device)
    finally:
        stage.train(was_training)


def pipeline_predictor(pipe: Any) -> Predict:
    """``predict`` of a TDMPipeline as inference runs it: images (B,3,H,W) in [-1,1] and
    their texts -> alpha (B,1,H,W) at the input size."""
    def predict(batch: dict[str, Any]) -> torch.Tensor:
        images = ((batch["image"].float().permute(0, 2, 3, 1) + 1) / 2).clamp(0, 1).cpu()
        return pipe(images, prompt=list(batch["text"]), output_type="pt").alpha[:, None]
    return predict
