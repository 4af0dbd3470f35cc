"""Periodic validation: tdm.metrics on held-out samples."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from tdm import metrics

from .data import collate, load_batch, to_device

METRICS = ("sad", "mse", "grad", "conn")


@torch.no_grad()
def validate(stage: Any, dataset: Any, indices: Sequence[int], batch_size: int,
             device: torch.device) -> dict[str, float]:
    """Mean SAD, MSE, Grad, Conn of ``stage.predict_alpha`` over ``indices``.

    Returns ``{"val_sad": ..., "val_mse": ..., "val_grad": ..., "val_conn": ...}``.
    """
    was_training = stage.training
    stage.eval()
    scores: dict[str, list[float]] = {name: [] for name in METRICS}
    for start in range(0, len(indices), batch_size):
        batch = to_device(collate(load_batch(dataset, indices[start:start + batch_size])), device)
        pred = stage.predict_alpha(batch).float().clamp(0, 1).cpu().numpy()[:, 0]
        gt = batch["alpha"].float().cpu().numpy()[:, 0]
        for p, g in zip(pred, gt):
            for name in METRICS:
                scores[name].append(float(getattr(metrics, name)(p, g)))
    stage.train(was_training)
    return {f"val_{name}": float(np.mean(v)) for name, v in scores.items()}
