"""File reading for the dataset loaders: images, alpha mattes, folders, JSON, safe pickles."""
from __future__ import annotations

import io
import json
import pickle
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from media.pixels import to_uint8


def read_rgb(path: str | Path) -> np.ndarray:
    """(H,W,3) uint8 RGB; raises FileNotFoundError when cv2 cannot read the file."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_alpha(path: str | Path) -> np.ndarray:
    """(H,W) float32 in [0,1] from a grey (or RGB/RGBA: first channel) 8/16-bit image."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(f"cannot read alpha {path}")
    if img.ndim == 3:
        img = img[..., 3] if img.shape[2] == 4 else img[..., 0]
    scale = 65535.0 if img.dtype == np.uint16 else 255.0
    return (img.astype(np.float32) / scale).clip(0.0, 1.0)


def write_alpha(path: str | Path, alpha: np.ndarray) -> None:
    """Write (H,W) float alpha in [0,1] as an 8-bit grey PNG."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), to_uint8(alpha))


def index_by_stem(paths: list[Path]) -> dict[str, Path]:
    """Map file stem -> path (the first one when stems repeat)."""
    out: dict[str, Path] = {}
    for p in paths:
        out.setdefault(p.stem, p)
    return out


def find_subdir(root: Path, candidates: tuple[str, ...]) -> Path | None:
    """The first existing ``root/name`` among ``candidates``."""
    for name in candidates:
        if (root / name).is_dir():
            return root / name
    return None


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class _PlainUnpickler(pickle.Unpickler):
    """Unpickler that builds only primitive values and containers: any class is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from an untrusted pickle")


def load_plain_pickle(path: str | Path) -> Any:
    """Load a pickle made only of dicts, lists, tuples, strings and numbers (e.g. refs(unc).p).

    Python 2 byte strings are decoded as latin-1. Any other object raises UnpicklingError.
    """
    data = Path(path).read_bytes()
    return _PlainUnpickler(io.BytesIO(data), encoding="latin1").load()
