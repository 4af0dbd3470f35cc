"""The frame pipeline: joins the model (`tdm`), video I/O (`video`) and Ray.

`matte_video` is imported on first use, so `tdm-video --help` and option errors
answer without loading torch and Ray.
"""
from pipelines.errors import UsageError

__all__ = ["matte_video", "UsageError"]


def __getattr__(name: str):
    if name == "matte_video":
        from pipelines.engine import matte_video

        return matte_video
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
