"""Held-out moving clips for temporal figures: an exit, an occlusion, a cut and an entry.

Clip ``i`` is two ``make_clip`` scenes of the ``test`` split (held-out shape families,
patterns and backgrounds; ``tdm.data.splits``) joined by a hard cut: the first half as
made (the target may leave the frame; an occluder crosses it), the second half played
backwards (so its target may *enter*; the occluder crosses again). Seeds are
``first_seed + 2i`` and ``first_seed + 2i + 1``, from ``HELD_OUT_SEED`` by default:
training never draws clips (its synthetic scenes come from ``SyntheticMattingDataset``'s
own streams), and none of our tests or examples uses a seed that large. ``--data
clips[:length=N,frames=T,split=S,seed=S0]`` opens ``SyntheticClipDataset`` for tdm-eval.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from torch.utils.data import Dataset

from .augment import as_size
from .sample import Sample, make_sample
from .splits import check_split
from .synthetic import make_clip

HELD_OUT_SEED = 1_000_000


@dataclass(frozen=True)
class ClipRef:
    """Which clip of a SyntheticClipDataset an item belongs to (one object per clip)."""

    index: int
    name: str


@dataclass(frozen=True)
class HeldOutClip:
    """frames (T,H,W,3) uint8, alphas (T,H,W) float32, texts (T,) per frame, the index
    of the first frame after the cut, and the clip's name."""

    frames: np.ndarray
    alphas: np.ndarray
    texts: tuple[str, ...]
    cut: int
    name: str


def held_out_clip(index: int, num_frames: int = 24, size: int | tuple[int, int] = (256, 256),
                  split: str = "test", first_seed: int = HELD_OUT_SEED) -> HeldOutClip:
    """Clip ``index`` (see the module doc): ``num_frames`` >= 4 frames, the cut halfway."""
    if num_frames < 4:
        raise ValueError(f"a held-out clip needs at least 4 frames, got {num_frames}")
    cut = num_frames // 2
    seed = first_seed + 2 * index
    frames_a, alphas_a, text_a = make_clip(seed, cut, size, check_split(split))
    frames_b, alphas_b, text_b = make_clip(seed + 1, num_frames - cut, size, split)
    return HeldOutClip(np.concatenate([frames_a, frames_b[::-1]]), np.concatenate([alphas_a, alphas_b[::-1]]),
                       (text_a,) * cut + (text_b,) * (num_frames - cut), cut, clip_name(seed))


def clip_name(seed: int) -> str:
    return f"clip{seed}"


class SyntheticClipDataset(Dataset):
    """``length`` held-out clips of ``frames`` frames, item ``i`` = frame ``i % frames`` of
    clip ``i // frames`` (clip-major, like VideoMattingDataset, with ``locate``)."""

    name = "clips"

    def __init__(self, size: int | tuple[int, int] = 256, length: int = 8, frames: int = 24,
                 split: str = "test", seed: int = HELD_OUT_SEED):
        self.size, self.length, self.frames = as_size(size), int(length), int(frames)
        self.split, self.seed = check_split(split), int(seed)
        if self.frames < 4:
            raise ValueError(f"clips: frames must be at least 4, got {self.frames}")
        self.refs = [ClipRef(i, clip_name(self.seed + 2 * i)) for i in range(self.length)]

    def __len__(self) -> int:
        return self.length * self.frames

    @functools.lru_cache(maxsize=2)
    def clip(self, index: int) -> HeldOutClip:
        return held_out_clip(index, self.frames, self.size, self.split, self.seed)

    def locate(self, index: int) -> tuple[ClipRef, int]:
        """(the clip's ClipRef, frame index) of item ``index``."""
        return self.refs[index // self.frames], index % self.frames

    def __getitem__(self, index: int) -> Sample:
        ref, t = self.locate(index)
        clip = self.clip(ref.index)
        return make_sample(clip.frames[t], clip.alphas[t], clip.texts[t], self.name)
