"""The pipeline a run starts from, its stage and its data, from a :class:`TrainConfig`."""
from __future__ import annotations

import warnings
from typing import Any, Callable

import torch
from diffusers import UNet2DConditionModel

from tdm.config import get_preset

from .cache import CachedDataset, cache_folder
from .config import TrainConfig
from .lineage import continues_stage, train_encoders
from .stages import STAGES, SemanticStage, Stage

# (spec, size=, seed=, augment=, samples_per_iteration=) -> dataset, as tdm.data.open_dataset
DataOpener = Callable[..., Any]
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
    """Side the samples are read at: the processing side, for every stage (the upsampler
    stage shrinks its inputs instead of enlarging its targets)."""
    return processing_side(config)


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


def held_out_source(config: TrainConfig) -> dict[str, Any] | None:
    """How the run's held-out set is opened (spec, seed, size), or None without one."""
    spec = config.val_data or validation_spec(config.data)
    if not spec or config.val_size <= 0:
        return None
    return {"spec": spec, "seed": config.seed + VALIDATION_SEED_OFFSET,
            "size": data_resolution(config)}


def _open(opener: DataOpener, cache: str | None, spec: str, **options: Any) -> Any:
    """``opener(spec, **options)``, behind a disk cache of its samples with ``cache``."""
    dataset = opener(spec, **options)
    return dataset if cache is None else CachedDataset(
        dataset, cache_folder(cache, spec=spec, **options))


def open_held_out(config: TrainConfig, opener: DataOpener | None = None) -> Any:
    """The run's held-out dataset (no augmentation), or None."""
    if opener is None:
        from tdm.data import open_dataset as opener
    source = held_out_source(config)
    if source is None:
        return None
    return _open(opener, config.data_cache, source["spec"], size=source["size"],
                 seed=source["seed"], augment=False)


def open_data(config: TrainConfig, global_batch: int, opener: DataOpener | None = None
              ) -> tuple[Any, Any]:
    """(training dataset, held-out dataset or None) of a run."""
    if opener is None:
        from tdm.data import open_dataset as opener
    train = _open(opener, config.data_cache, config.data, size=data_resolution(config),
                  seed=config.seed, augment=True, samples_per_iteration=global_batch)
    return train, open_held_out(config, opener)


def starting_pipeline(config: TrainConfig) -> Any:
    """The --init folder's pipeline in fp32 (a shipped one may be fp16), else a fresh one
    with a teacher: random weights, or SD-1.5's (``--pretrained``)."""
    import tdm

    if config.init:
        return tdm.TDMPipeline.from_pretrained(config.init, dtype=torch.float32)
    return tdm.build_pipeline(config.preset, seed=config.seed, with_teacher=True,
                              pretrained=config.pretrained)


def _restore(stage: Stage, saved: dict[str, dict[str, torch.Tensor]]) -> None:
    """Put the --init folder's weights back into the trainable modules the stage rebuilt
    (student, decoder, upsampler), where the layout still matches."""
    for name, module in stage.trainable.items():
        state = saved.get(name)
        if state is None:
            continue
        own = module.state_dict()
        if own.keys() == state.keys() and all(own[k].shape == v.shape for k, v in state.items()):
            module.load_state_dict(state)
        else:
            warnings.warn(f"--init's {name} has another layout than the preset's: it starts "
                          "afresh")


def build_stage(config: TrainConfig) -> Stage:
    """The stage module of one run, on the CPU. A stage the --init folder already trained
    continues from its weights (unless ``reinit``)."""
    if config.gradient_checkpointing and config.stage != "semantic":
        # the attention maps captured for L_STM/L_CTM are not taken again on recompute
        raise ValueError("--gradient-checkpointing works for the semantic stage only")
    cls = STAGES[config.stage]
    pipe = starting_pipeline(config)
    cls.check_side(pipe, processing_side(config))
    saved = {name: module.state_dict() for name, module in pipe.components.items()
             if isinstance(module, torch.nn.Module)} if continues_stage(config) else {}
    options = ({"train_encoders": train_encoders(config),
                "balance_classes": config.balance_classes,
                "recon_weight": config.recon_weight} if cls is SemanticStage
               else {"preset": get_preset(config.preset)})
    stage = cls(pipe, **options)
    _restore(stage, saved)
    if config.gradient_checkpointing:
        for module in stage.trainable.values():
            if isinstance(module, UNet2DConditionModel):
                module.enable_gradient_checkpointing()
    return stage
