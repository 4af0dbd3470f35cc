"""The pipeline shipped with tdm (package data), found through ``importlib.resources``."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def demo_model() -> Path:
    """The folder of the shipped demo pipeline, the default model of tdm-video.

    tdm is installed as files (never zipped), so the resource is a folder on disk that
    ``TDMPipeline.from_pretrained`` can read.
    """
    return Path(str(resources.files(__name__) / "demo"))
