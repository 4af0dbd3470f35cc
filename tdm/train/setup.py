"""Building a stage and its data from a :class:`TrainConfig`."""
from __future__ import annotations

from typing import Any, Callable

from tdm.config import get_preset

from .config import TrainConfig
from .matting import MattingStage
from .semantic import SemanticStage
from .stages import Stage
from .transparency import TransparencyStage
from .upsampler import UpsamplerStage

DataOpener = Callable[[str, int], Any]
STAGES: dict[str, type[Stage]] = {
    cls.name: cls for cls in (SemanticStage, TransparencyStage, MattingStage, UpsamplerStage)}


def processing_side(config: TrainConfig) -> int:
    """The model's processing side in px: ``--resolution`` or the preset's."""
    return config.resolution or get_preset(config.preset).resolution


def data_resolution(config: TrainConfig) -> int:
    """Side the samples are read at (larger than the processing side for the upsampler)."""
    return processing_side(config) * STAGES[config.stage].data_scale


def load_pipeline(config: TrainConfig) -> Any:
    """The previous stage's pipeline (``--init``), else a fresh one with a teacher: random
    weights, or SD-1.5's (``--pretrained``)."""
    import tdm

    if config.init:
        return tdm.TDMPipeline.from_pretrained(config.init)
    return tdm.build_pipeline(config.preset, seed=config.seed, with_teacher=True,
                              pretrained=config.pretrained)


def _open_default(spec: str, resolution: int) -> Any:
    from tdm.data import open_dataset

    return open_dataset(spec, resolution=resolution)


def build_stage(config: TrainConfig, open_data: DataOpener | None = None) -> tuple[Stage, Any]:
    """(stage module, training dataset) of one run."""
    dataset = (open_data or _open_default)(config.data, data_resolution(config))
    preset = get_preset(config.preset)
    stage = STAGES[config.stage](load_pipeline(config), preset, processing_side(config))
    return stage, dataset
