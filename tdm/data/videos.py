"""Frame-level training from video matting data: samples (clip, frame) pairs.

Two layouts (docs/DATASETS.md): VideoMatte240K (``fgr/`` and ``pha/`` videos or frame
folders, composited over backgrounds) and video instance matting sets (``frames/<clip>``
+ ``alphas/<clip>/<instance>`` + ``texts.json``). Video files are read through an
injected ``read_frames(path, indices) -> (N,H,W,3) uint8`` (pipelines passes
``video.read_frames_at``, decord random access); frame folders are read with cv2.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from torch.utils.data import Dataset

from media import is_video_file, list_images

from .augment import as_size, compose, flip_and_crop, resize_pair
from .io import read_alpha, read_json, read_rgb
from .records import texts_of
from .sample import Sample, item_rng, make_sample
from .textures import background

ReadFrames = Callable[[str, Sequence[int]], np.ndarray]


@dataclass(frozen=True)
class VideoClip:
    """frames and alpha: a video file or a frame folder each; texts for the instance;
    ``composite``: frames are a foreground to composite over a background (VideoMatte240K)."""

    frames: Path
    alpha: Path
    texts: tuple[str, ...]
    num_frames: int
    composite: bool = False


def _count(path: Path, read_frames: ReadFrames | None, count_frames: Callable[[str], int] | None) -> int:
    if path.is_dir():
        return len(list_images(path))
    if count_frames is None:
        raise ValueError(f"{path} is a video file: pass count_frames (and read_frames)")
    return int(count_frames(str(path)))


def _media(folder: Path) -> dict[str, Path]:
    """Clip name -> video file or frame folder inside ``folder``."""
    return {p.stem: p for p in sorted(folder.iterdir()) if p.is_dir() or is_video_file(p)}


def scan_clips(root: str | Path, text: str = "the person", count_frames: Callable[[str], int] | None = None,
               read_frames: ReadFrames | None = None) -> list[VideoClip]:
    """Clips of a VideoMatte240K-style root (fgr/ + pha/) or an instance set (frames/ + alphas/)."""
    root = Path(root)
    clips = []
    if (root / "fgr").is_dir() and (root / "pha").is_dir():
        phas = _media(root / "pha")
        for name, fgr in _media(root / "fgr").items():
            if name in phas:
                n = min(_count(fgr, read_frames, count_frames), _count(phas[name], read_frames, count_frames))
                clips.append(VideoClip(fgr, phas[name], (text,), n, composite=True))
    elif (root / "frames").is_dir() and (root / "alphas").is_dir():
        texts = read_json(root / "texts.json") if (root / "texts.json").is_file() else {}
        for name, frames in _media(root / "frames").items():
            n_frames = _count(frames, read_frames, count_frames)
            inst_root = root / "alphas" / name
            for inst, alpha in (_media(inst_root).items() if inst_root.is_dir() else []):
                words = texts_of(texts.get(name, {}).get(inst)) or [text]
                n = min(n_frames, _count(alpha, read_frames, count_frames))
                clips.append(VideoClip(frames, alpha, tuple(words), n))
    else:
        raise FileNotFoundError(f"{root}: expected fgr/ + pha/ or frames/ + alphas/")
    return clips


class VideoMattingDataset(Dataset):
    """Samples of (clip, frame) pairs at ``size``. Item ``i`` is the ``i % total``-th
    (clip, frame) pair (clip-major), with a random stream from (seed, i). Training views
    (``augment``) of composite clips get RSSN composition and the text-safe flip/crop of
    ``tdm.data.augment``; real frames, and everything without ``augment``, a plain resize.

    ``source``: a root folder (see ``scan_clips``) or a list of ``VideoClip``.
    ``backgrounds``: folder of images for composite clips (else procedural backgrounds)."""

    def __init__(self, source: str | Path | Sequence[VideoClip], size: int | tuple[int, int] = 512,
                 seed: int = 0, read_frames: ReadFrames | None = None,
                 count_frames: Callable[[str], int] | None = None, backgrounds: str | Path | None = None,
                 text: str = "the person", augment: bool = True, name: str = "video"):
        self.clips = list(source) if not isinstance(source, (str, Path)) else scan_clips(source, text, count_frames, read_frames)
        self.clips = [c for c in self.clips if c.num_frames > 0]
        if not self.clips:
            raise ValueError(f"{name}: no clips with frames found")
        self.offsets = np.cumsum([0] + [c.num_frames for c in self.clips])
        self.size, self.seed, self.read_frames, self.augment, self.name = as_size(size), int(seed), read_frames, augment, name
        self.backgrounds = list_images(backgrounds) if backgrounds else []

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _read(self, path: Path, frame: int, alpha: bool) -> np.ndarray:
        if path.is_dir():
            file = list_images(path)[frame]
            return read_alpha(file) if alpha else read_rgb(file)
        if self.read_frames is None:
            raise ValueError(f"{path} is a video file: VideoMattingDataset needs read_frames")
        rgb = np.asarray(self.read_frames(str(path), [frame])[0])
        return rgb[..., 0].astype(np.float32) / 255.0 if alpha else rgb

    def locate(self, index: int) -> tuple[VideoClip, int]:
        """(clip, frame index) of item ``index``."""
        k = index % len(self)
        c = int(np.searchsorted(self.offsets, k, side="right") - 1)
        return self.clips[c], int(k - self.offsets[c])

    def __getitem__(self, index: int) -> Sample:
        rng = item_rng(self.seed, index)
        clip, frame = self.locate(index)
        image, alpha = self._read(clip.frames, frame, False), self._read(clip.alpha, frame, True)
        text = clip.texts[int(rng.integers(len(clip.texts)))]
        if clip.composite:
            h, w = alpha.shape
            bg = (read_rgb(self.backgrounds[int(rng.integers(len(self.backgrounds)))]) if self.backgrounds
                  else (background(rng, (h, w))[0] * 255).astype(np.uint8))
            image = compose(image, alpha, bg, rng)
        if self.augment and clip.composite:
            image, alpha, text = flip_and_crop(image, alpha, text, self.size, rng, alpha)
        else:
            image, alpha = resize_pair(image, alpha, self.size)
        return make_sample(image, alpha, text, self.name)
