"""What a run inherits from the folder it starts from: pretrained or own encoders, and
which stages already trained the modules it holds.

Every run records both in its ``train_config.json`` (``encoders_pretrained``,
``trained_stages``), so the next run reads them from its ``--init`` folder, including a
shipped model folder (``tdm.train.ship`` copies the file there).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .config import CONFIG_NAME, TrainConfig
from .optimizer import PAPER_HYPER

STAGE_ORDER: tuple[str, ...] = tuple(PAPER_HYPER)


def _init_config(config: TrainConfig) -> TrainConfig | None:
    """The ``train_config.json`` of the ``--init`` folder, if it has one."""
    if config.init is None or not (Path(config.init) / CONFIG_NAME).is_file():
        return None
    return TrainConfig.load(config.init)


def encoders_pretrained(config: TrainConfig) -> bool:
    """True when the VAE and text encoder come pretrained (``--pretrained``, or an --init
    folder whose lineage started from SD-1.5); False for our own, randomly built ones."""
    if config.encoders_pretrained is not None:
        return config.encoders_pretrained
    if config.pretrained is not None:
        return True
    parent = _init_config(config)
    return parent is not None and encoders_pretrained(parent)


def inherited_stages(config: TrainConfig) -> tuple[str, ...]:
    """Stages that trained the modules of the ``--init`` folder (none without one)."""
    parent = _init_config(config)
    if parent is None:
        return ()
    if parent.trained_stages is not None:
        return parent.trained_stages
    return tuple(s for s in STAGE_ORDER if s in inherited_stages(parent) + (parent.stage,))


def continues_stage(config: TrainConfig) -> bool:
    """Whether this stage keeps the --init folder's weights for the modules it would
    otherwise re-initialise (student, decoder, upsampler): that folder already trained it."""
    return not config.reinit and config.stage in inherited_stages(config)


def train_encoders(config: TrainConfig) -> bool:
    """Whether the encoders train in this run: only in the semantic stage, by default when
    they are not pretrained."""
    if config.stage != "semantic":
        return False
    if config.train_encoders is not None:
        return config.train_encoders
    return not encoders_pretrained(config)


def resolved(config: TrainConfig) -> TrainConfig:
    """``config`` with the lineage fields filled in (stored in the run's train_config.json):
    the encoders' origin and the stages trained once this run ends."""
    stages = set(inherited_stages(config)) | {config.stage}
    return dataclasses.replace(
        config, encoders_pretrained=encoders_pretrained(config),
        trained_stages=tuple(s for s in STAGE_ORDER if s in stages))
