"""A disk cache in front of any dataset: each sample is made once, later reads load it.

The datasets are deterministic (item ``i`` depends only on the seed and ``i``, augmentation
included), so a cached sample equals a fresh one bit for bit. Samples are stored one per
``.npz`` file (no pickle): tensors that are 8-bit images in ``[-1, 1]`` (``x = u / 127.5 -
1``) as uint8, other tensors as they are, strings and numbers as 0-d arrays. The folder is
named after what opened the dataset and the source of ``tdm.data``, so a changed
generator or other options never read old samples.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

_U8 = "__u8__"  # key prefix of tensors stored as uint8 images


def data_code_digest() -> str:
    """Hash of the source files of ``tdm.data`` (a changed generator changes it)."""
    import tdm.data

    digest = hashlib.sha256()
    for path in sorted(Path(tdm.data.__file__).parent.rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def cache_folder(root: str | Path, **opened_with: Any) -> Path:
    """``root/<hash>``: one folder per (dataset options, tdm.data source) combination."""
    key = json.dumps({**opened_with, "code": data_code_digest()}, sort_keys=True, default=str)
    return Path(root) / hashlib.sha256(key.encode()).hexdigest()[:20]


def _as_u8_image(t: torch.Tensor) -> np.ndarray | None:
    """uint8 ``u`` with ``u / 127.5 - 1 == t`` exactly, or None."""
    if t.dtype != torch.float32 or t.numel() == 0 or t.min() < -1 or t.max() > 1:
        return None
    u = ((t + 1) * 127.5).round().to(torch.uint8)
    return u.numpy() if torch.equal(u.float() / 127.5 - 1.0, t) else None


def encode(sample: dict[str, Any]) -> dict[str, np.ndarray]:
    """A sample dict -> arrays for ``np.savez``."""
    arrays = {}
    for key, value in sample.items():
        if isinstance(value, torch.Tensor):
            u8 = _as_u8_image(value)
            arrays[_U8 + key if u8 is not None else key] = u8 if u8 is not None else value.numpy()
        elif isinstance(value, (str, int, float, bool)):
            arrays[key] = np.asarray(value)
        else:
            raise TypeError(f"--data-cache cannot store {key!r} of type {type(value).__name__}")
    return arrays


def decode(arrays: Any) -> dict[str, Any]:
    """Inverse of :func:`encode` (tensors come back as tensors, 0-d arrays as scalars)."""
    sample: dict[str, Any] = {}
    for key in arrays.files:
        value = arrays[key]
        if key.startswith(_U8):
            sample[key[len(_U8):]] = torch.from_numpy(value).float() / 127.5 - 1.0
        elif value.ndim == 0:
            sample[key] = value.item()
        else:
            sample[key] = torch.from_numpy(value)
    return sample


class CachedDataset(Dataset):
    """``dataset[i]`` from ``folder/<i>.npz`` when there, else made and written there.

    Safe with several loader workers (each file is written to a temporary name and
    renamed). ``inner`` is the wrapped dataset.
    """

    def __init__(self, dataset: Any, folder: str | Path):
        self.inner, self.folder = dataset, Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.folder / f"{int(index):09d}.npz"
        try:
            with np.load(path, allow_pickle=False) as arrays:
                return decode(arrays)
        except FileNotFoundError:
            pass
        sample = self.inner[index]
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **encode(sample))
        os.replace(tmp, path)
        return sample


def unwrap(dataset: Any) -> Any:
    """The dataset inside a :class:`CachedDataset` (others pass through)."""
    return dataset.inner if isinstance(dataset, CachedDataset) else dataset
