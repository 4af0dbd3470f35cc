"""Training checkpoints: our own files, plain state dicts, RNG states as tensors.

Written with ``torch.save`` and read back with ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_KEYS = ("step", "rng")  # what every checkpoint of ours holds


def rng_state() -> dict[str, Any]:
    """Torch (CPU and CUDA), numpy and python RNG states as tensors / plain types."""
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy_name": np_name,
        "numpy_keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
        "numpy_pos": int(np_pos),
        "numpy_has_gauss": int(np_has_gauss),
        "numpy_gauss": float(np_gauss),
        # python's state is (version, tuple of 625 ints, gauss_next)
        "python_version": random.getstate()[0],
        "python_state": torch.tensor(random.getstate()[1], dtype=torch.int64),
        "python_gauss": random.getstate()[2],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    np.random.set_state((state["numpy_name"], state["numpy_keys"].numpy().astype(np.uint32),
                         state["numpy_pos"], state["numpy_has_gauss"], state["numpy_gauss"]))
    random.setstate((state["python_version"], tuple(state["python_state"].tolist()),
                     state["python_gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(directory: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically to ``directory/checkpoint.pt``."""
    path = Path(directory) / CHECKPOINT_NAME
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(directory: str | Path, map_location: str | torch.device = "cpu"
                    ) -> dict[str, Any]:
    """Read ``directory/checkpoint.pt`` safely (tensors and plain types only); a file that
    is not one of our checkpoints (truncated, empty, foreign) is a one-line ValueError."""
    path = Path(directory) / CHECKPOINT_NAME
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch raises several kinds for a damaged file
        raise ValueError(f"{path}: not a readable training checkpoint ({type(exc).__name__}); "
                         "delete it, or start again with --overwrite") from None
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise ValueError(f"{path}: not a tdm training checkpoint (no {', '.join(missing)}); "
                         "delete it, or start again with --overwrite")
    return state
