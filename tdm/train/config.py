"""The settings of one training run, stored next to its outputs for ``--resume``."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .optimizer import PAPER_HYPER, Hyper

CONFIG_NAME = "train_config.json"


@dataclass
class TrainConfig:
    """Everything ``tdm-train`` decides. ``None`` means the stage's paper default.

    ``batch_size`` is the global batch of one optimiser step: it is split over
    ``world * grad_accum`` equal micro-batches.
    """

    preset: str
    stage: str
    data: str
    output: str
    max_steps: int | None = None
    # a training-time budget: the run ends when it is spent (or at max_steps), and the lr
    # schedule follows whichever of the two is further along (tdm.train.optimizer)
    max_minutes: float | None = None
    init: str | None = None
    pretrained: str | None = None  # SD-1.5 folder or hub id for a run without ``init``
    # VAE encoder and text encoder train in the semantic stage (None: when they are not
    # pretrained); each with its own lr (None: the stage's)
    train_encoders: bool | None = None
    vae_lr: float | None = None
    text_encoder_lr: float | None = None
    balance_classes: bool = False  # semantic CE weighted by region frequency (losses.semantic_ce)
    recon_weight: float = 0.0  # semantic stage: + this times the VAE's reconstruction loss
    reinit: bool = False  # re-initialise the stage's modules even if --init already trained them
    batch_size: int | None = None
    lr: float | None = None
    milestones: tuple[int, ...] | None = None
    factors: tuple[float, ...] | None = None
    warmup_steps: int = 0  # optimiser steps of linear lr warm-up (tdm.train.optimizer)
    resolution: int | None = None
    grad_accum: int = 1
    clip_grad: float = 1.0
    ema: float = 0.0  # decay of the weights' moving average that validation and export use (0: none)
    gradient_checkpointing: bool = False  # trained U-Nets recompute activations in backward
    mixed_precision: str = "auto"  # "auto" (bf16 on CUDA), "bf16" or "no"
    seed: int = 0
    log_every: int = 1
    val_data: str | None = None  # held-out SPEC; default: see setup.validation_spec
    val_every: int = 0  # 0: only at the end
    val_size: int = 8  # held-out samples per validation (0: none)
    checkpoint_every: int = 500
    loader_workers: int = 0
    data_cache: str | None = None  # folder keeping every sample read (tdm.train.cache)
    progress: bool = True
    # filled in by the trainer from --pretrained and the --init folder (tdm.train.lineage)
    encoders_pretrained: bool | None = None
    trained_stages: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"--max-minutes must be positive, got {self.max_minutes}")
        if self.stage not in PAPER_HYPER:
            raise ValueError(f"unknown stage {self.stage!r}; choose one of {', '.join(PAPER_HYPER)}")
        if self.train_encoders and self.stage != "semantic":
            raise ValueError("--train-encoders works in the semantic stage only: the later "
                             "stages keep the encoders the teacher was trained with")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"--ema must be in [0, 1), got {self.ema}")
        if self.balance_classes and self.stage != "semantic":
            raise ValueError("--balance-classes works in the semantic stage only")
        if self.recon_weight and self.stage != "semantic":
            raise ValueError("--recon-weight works in the semantic stage only: the later "
                             "stages keep the VAE the teacher was trained with")
        if self.recon_weight < 0:
            raise ValueError(f"--recon-weight must be >= 0, got {self.recon_weight}")
        for name in ("milestones", "factors", "trained_stages"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, tuple(value))

    def hyper(self) -> Hyper:
        """The stage's Table 4 settings with this run's overrides applied."""
        return PAPER_HYPER[self.stage].override(
            lr=self.lr, total_steps=self.max_steps, batch_size=self.batch_size,
            milestones=self.milestones, factors=self.factors, warmup_steps=self.warmup_steps)

    def save(self, directory: str | Path) -> None:
        (Path(directory) / CONFIG_NAME).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, directory: str | Path) -> "TrainConfig":
        data = json.loads((Path(directory) / CONFIG_NAME).read_text())
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
