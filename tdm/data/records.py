"""A dataset over (image, alpha, texts) records: the common part of every image loader."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np
from torch.utils.data import Dataset

from .augment import as_size, augment
from .io import read_rgb
from .sample import Sample, item_rng, make_sample


@dataclass(frozen=True)
class Record:
    """One training instance: image file, a picklable alpha loader -> (H,W) float, its texts."""

    image: Path
    alpha: Callable[[], np.ndarray]
    texts: tuple[str, ...]


def texts_of(value: Any) -> list[str]:
    """Normalise expressions: a string, a list of strings, or RefCOCO-style dicts with 'sent'/'raw'."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    out: list[str] = []
    for v in value:
        if isinstance(v, dict):
            v = v.get("sent") or v.get("raw") or v.get("text") or ""
        if isinstance(v, str) and v.strip():
            out.append(v.strip())
    return out


class RecordDataset(Dataset):
    """Samples from ``records`` at ``size``: one text drawn per sample, the paper's
    augmentation when ``augment`` (else a plain resize). Item ``i`` uses record
    ``i % len`` and a random stream from (seed, i), so any index >= 0 is valid."""

    def __init__(self, records: Sequence[Record], source: str, size: int | tuple[int, int] = 512,
                 seed: int = 0, augment: bool = True):
        if not records:
            raise ValueError(f"{source}: no samples found")
        self.records, self.name = list(records), source
        self.size, self.seed, self.augment = as_size(size), int(seed), augment

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Sample:
        rng = item_rng(self.seed, index)
        rec = self.records[index % len(self.records)]
        text = rec.texts[int(rng.integers(len(rec.texts)))]
        image, alpha = read_rgb(rec.image), rec.alpha()
        if alpha.shape != image.shape[:2]:
            alpha = cv2.resize(alpha, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
        image, alpha, text = augment(image, alpha, text, self.size, rng if self.augment else None)
        return make_sample(image, alpha, text, self.name)
