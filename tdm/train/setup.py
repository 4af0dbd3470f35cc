"""Building a stage and its data from a :class:`TrainConfig`."""
from __future__ import annotations

from typing import Any, Callable

from diffusers import UNet2DConditionModel

from tdm.config import get_preset

from .config import TrainConfig
from .matting import MattingStage
from .semantic import SemanticStage
from .stages import Stage
from .transparency import TransparencyStage
from .upsampler import UpsamplerStage

# (spec, size=, seed=, augment=, samples_per_iteration=) -> dataset, as tdm.data.open_dataset
DataOpener = Callable[..., Any]
STAGES: dict[str, type[Stage]] = {
    cls.name: cls for cls in (SemanticStage, TransparencyStage, MattingStage, UpsamplerStage)}
# the held-out split each real download has: RefMatte test, RefCOCO (UNC) val (it has
# train/val/testA/testB), P3M-10k validation/P3M-500-NP, AM-2k validation. RM-1K is one
# real-world set with no split (the paper trains on all of it): validation leaves it out.
# synthetic: its val split holds shape families, patterns and backgrounds training never sees
HELD_OUT_SPLIT = {"refmatte": "test", "refcoco": "val", "p3m": "test", "am2k": "test",
                  "synthetic": "val"}
VALIDATION_SEED_OFFSET = 1_000_003


def processing_side(config: TrainConfig) -> int:
    """The model's processing side in px: ``--resolution`` or the preset's."""
    return config.resolution or get_preset(config.preset).resolution


def data_resolution(config: TrainConfig) -> int:
    """Side the samples are read at: the stage's ``data_scale`` x the processing side (1 for
    every stage; the upsampler stage shrinks its inputs instead of enlarging its targets)."""
    return processing_side(config) * STAGES[config.stage].data_scale


def validation_spec(spec: str) -> str | None:
    """The held-out counterpart of a training SPEC: each set at its ``HELD_OUT_SPLIT``
    (synthetic at val, also opened with another seed), video and RM-1K left out."""
    from tdm.data import parse_spec

    parts = []
    for name, path, options in parse_spec(spec):
        if name in ("video", "rm1k"):
            continue
        if name in HELD_OUT_SPLIT:
            options = {**options, "split": HELD_OUT_SPLIT[name]}
        options = {k: v for k, v in options.items() if k != "seed"}  # held out by its own seed
        fields = ([path] if path else []) + [f"{k}={v}" for k, v in options.items()]
        parts.append(name + (":" + ",".join(fields) if fields else ""))
    return "+".join(parts) or None


def open_data(config: TrainConfig, global_batch: int, opener: DataOpener | None = None
              ) -> tuple[Any, Any]:
    """(training dataset, held-out dataset or None) of a run."""
    if opener is None:
        from tdm.data import open_dataset as opener
    size = data_resolution(config)
    train = opener(config.data, size=size, seed=config.seed, augment=True,
                   samples_per_iteration=global_batch)
    spec = config.val_data or validation_spec(config.data)
    held_out = None
    if spec and config.val_size > 0:
        held_out = opener(spec, size=size, seed=config.seed + VALIDATION_SEED_OFFSET,
                          augment=False)
    return train, held_out


def load_pipeline(config: TrainConfig) -> Any:
    """The previous stage's pipeline (``--init``), else a fresh one with a teacher: random
    weights, or SD-1.5's (``--pretrained``)."""
    import tdm

    if config.init:
        return tdm.TDMPipeline.from_pretrained(config.init)
    return tdm.build_pipeline(config.preset, seed=config.seed, with_teacher=True,
                              pretrained=config.pretrained)


def build_stage(config: TrainConfig) -> Stage:
    """The stage module of one run, on the CPU."""
    if config.gradient_checkpointing and config.stage != "semantic":
        # the attention maps captured for L_STM/L_CTM are not taken again on recompute
        raise ValueError("--gradient-checkpointing works for the semantic stage only")
    preset = get_preset(config.preset)
    stage = STAGES[config.stage](load_pipeline(config), preset, processing_side(config))
    if config.gradient_checkpointing:
        for module in stage.trainable.values():
            if isinstance(module, UNet2DConditionModel):
                module.enable_gradient_checkpointing()
    return stage
