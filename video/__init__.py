"""Frames in, frames out: probing, frame-exact decoding and alpha-keeping writers (no model)."""
import av  # noqa: F401  (PyAV is imported before decord in every process)

from video.compose import composite, estimate_foreground
from video.errors import VideoError
from video.probe import VideoInfo, probe
from video.random_access import read_frames_at
from video.reader import Frame, read_frames, stamp
from video.writer import VideoWriter

__all__ = ["Frame", "VideoError", "VideoInfo", "VideoWriter", "composite", "estimate_foreground",
           "probe", "read_frames", "read_frames_at", "stamp"]
