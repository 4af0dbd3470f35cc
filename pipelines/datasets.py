"""tdm's datasets with their video files read by `video`: the one opener of tdm-train and
tdm-eval (tdm.data itself never imports `video`, so the reader is injected here)."""
from __future__ import annotations

from typing import Any


def count_frames(path: str) -> int:
    """Frames of a video file (counted from packets by `video.probe`)."""
    from video import probe

    return probe(path).num_frames


def open_dataset_with_video(spec: str, **options: Any) -> Any:
    """``tdm.data.open_dataset(spec, **options)`` with ``video.read_frames_at`` and
    ``count_frames`` injected, so video-file roots can be read."""
    from tdm.data import open_dataset
    from video import read_frames_at

    return open_dataset(spec, read_frames=read_frames_at, count_frames=count_frames, **options)
