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
    """Samples from ``records`` at ``size``: one text drawn per sample. Training views
    (``augment``) follow the paper: a plain resize, except for ``composite`` sets
    (RefMatte), which get RSSN and the text-safe flip/crop of ``tdm.data.augment`` with
    the union of the image's instances as foreground. Item ``i`` uses record ``i % len``
    and a random stream from (seed, i), so any index >= 0 is valid."""

    def __init__(self, records: Sequence[Record], source: str, size: int | tuple[int, int] = 512,
                 seed: int = 0, augment: bool = True, composite: bool = False):
        if not records:
            raise ValueError(f"{source}: no samples found")
        self.records, self.name = list(records), source
        self.size, self.seed, self.augment, self.composite = as_size(size), int(seed), augment, composite
        self.siblings: dict[Path, list[int]] = {}
        for i, rec in enumerate(self.records):
            self.siblings.setdefault(rec.image, []).append(i)

    def __len__(self) -> int:
        return len(self.records)

    def foreground(self, index: int, alpha: np.ndarray) -> np.ndarray:
        """Union (max) of the alphas of every instance in record ``index``'s image."""
        rec, out = self.records[index], alpha
        for j in self.siblings[rec.image]:
            if j != index:
                other = self.records[j].alpha()
                if other.shape != alpha.shape:
                    other = cv2.resize(other, (alpha.shape[1], alpha.shape[0]), interpolation=cv2.INTER_LINEAR)
                out = np.maximum(out, other)
        return out

    def __getitem__(self, index: int) -> Sample:
        rng = item_rng(self.seed, index)
        k = index % len(self.records)
        rec = self.records[k]
        text = rec.texts[int(rng.integers(len(rec.texts)))]
        image, alpha = read_rgb(rec.image), rec.alpha()
        if alpha.shape != image.shape[:2]:
            alpha = cv2.resize(alpha, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
        fg = self.foreground(k, alpha) if self.augment and self.composite else None
        image, alpha, text = augment(image, alpha, text, self.size, rng if self.augment else None, fg)
        return make_sample(image, alpha, text, self.name)
