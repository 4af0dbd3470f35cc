"""Validation: tdm.metrics and IoU on held-out samples, for a stage or a whole pipeline."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from tdm import metrics

from .batches import collate, load_batch, to_device

METRICS = ("sad", "mse", "grad", "conn")
Predict = Callable[[dict[str, Any]], torch.Tensor]  # batch -> alpha (B,1,H,W) in [0,1]


@torch.no_grad()
def score(predict: Predict, dataset: Any, indices: Sequence[int], batch_size: int,
          device: torch.device) -> dict[str, float]:
    """Mean IoU, SAD, MSE, Grad, Conn of ``predict`` over ``dataset[indices]``.

    Returns ``{"val_iou": ..., "val_sad": ..., "val_mse": ..., "val_grad": ..., "val_conn": ...}``.
    """
    scores: dict[str, list[float]] = {name: [] for name in ("iou",) + METRICS}
    for start in range(0, len(indices), batch_size):
        batch = to_device(collate(load_batch(dataset, indices[start:start + batch_size])), device)
        pred = predict(batch).float().clamp(0, 1).cpu().numpy()[:, 0]
        gt = batch["alpha"].float().cpu().numpy()[:, 0]
        for p, g in zip(pred, gt):
            scores["iou"].append(metrics.iou(p, g))
            for name in METRICS:
                scores[name].append(float(getattr(metrics, name)(p, g)))
    return {f"val_{name}": float(np.mean(v)) for name, v in scores.items()}


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
