"""Training: one trainer for the four stages (semantic, transparency, matting, upsampler).

``train(TrainConfig(...))`` runs one stage in this process, or on every rank of an
initialised ``torch.distributed`` group (``pipelines.train`` launches it with Ray Train).
"""
from .config import TrainConfig
from .stages import STAGES
from .trainer import Trainer, train

__all__ = ["STAGES", "TrainConfig", "Trainer", "train"]
