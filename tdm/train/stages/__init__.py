"""The four training stages and their registry, ``STAGES`` (``--stage`` name -> class).

``base.Stage`` is the interface; ``semantic``, ``transparency``, ``matting`` and
``upsampler`` are the stages of the paper's sec. 3.2-3.4 in training order; ``targets``
the region labels and masks they share.
"""
from .base import Stage
from .matting import MattingStage
from .semantic import SemanticStage
from .transparency import TransparencyStage
from .upsampler import UpsamplerStage

STAGES: dict[str, type[Stage]] = {
    cls.name: cls for cls in (SemanticStage, TransparencyStage, MattingStage, UpsamplerStage)}

__all__ = ["STAGES", "MattingStage", "SemanticStage", "Stage", "TransparencyStage", "UpsamplerStage"]
