"""Which files are images and videos, and the order of a folder's images: the one answer
for `tdm` (dataset loaders) and `video` (an image folder read as a video).

A package of its own because neither may import the other (`tdm` never imports `video`;
`video` knows nothing of the model, and importing any `tdm` module loads torch and
diffusers). It imports only the standard library; `media.pixels` (numpy) converts images
to uint8; `media.cpu` reads the CPU's model and flags.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts")


def natural_key(name: str) -> list:
    """Sort key that orders 'f2' before 'f10' (and ignores case)."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def is_video_file(path: str | os.PathLike) -> bool:
    """A regular file with a video extension."""
    path = Path(path)
    return path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file()


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, naturally sorted (frame f2 before f10);
    OSError when the folder cannot be listed."""
    files = [p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    return sorted(files, key=lambda p: natural_key(p.name))
