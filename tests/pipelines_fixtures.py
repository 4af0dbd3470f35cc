"""Helpers of the pipelines tests: small clips, one Ray instance, reading outputs back.

The fixtures built on them (`model_dir`, `clip_path`, `ray_local`) are in conftest.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import video
from video.synth import write_pattern_clip

FAST = {"resolution": 64, "batch_size": 4, "quiet": True}
CLIP_FRAMES = 12


def clip(path: Path, frames: int = CLIP_FRAMES, audio: bool = True) -> str:
    """A 64x48 H.264 clip (keyframe every 4 frames) with an AAC tone unless audio=False."""
    return write_pattern_clip(str(path), frames=frames, width=64, height=48,
                              audio="aac" if audio else None, gop=4)


def ensure_ray() -> None:
    """One small local Ray for this test process (reused if already up)."""
    import ray

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False,
                 object_store_memory=150 * 1024 ** 2)


def alpha_of(path: str | Path) -> np.ndarray:
    """(T,H,W) uint8 alpha of a written matte (grey) or RGBA output."""
    return np.stack([np.rint(f.alpha * 255).astype(np.uint8)
                     for f in video.read_frames(str(path), alpha=True)])


def times_of(path: str | Path) -> list[float]:
    return [round(f.time, 3) for f in video.read_frames(str(path))]


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial files the writers may have left in `folder`."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".part")


def probe_error(path) -> str:
    """The one-line VideoError message ``video.probe(path)`` raises (asserted one line)."""
    with pytest.raises(video.VideoError) as err:
        video.probe(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    return msg
