"""An exponential moving average of the trained weights (``--ema DECAY``): validation and
the exported pipeline use the average, so a stage ends on the mean of its last few
hundred steps instead of wherever the last step's noise left it."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch


class EmaWeights:
    """The average of ``module``'s floating-point parameters and buffers (fp32 copies).

    ``update(step)`` after each optimiser step, with the warm-up decay
    ``min(decay, (1 + step) / (10 + step))`` so that a short run is not held at its start.
    ``swapped()`` puts the average in place and restores the trained weights after.
    """

    def __init__(self, module: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"--ema must be in (0, 1), got {decay}")
        self.module, self.decay = module, decay
        self.average = {name: value.detach().float().clone()
                        for name, value in module.state_dict().items() if value.is_floating_point()}

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        weight = 1.0 - self.decay_at(step)
        current = self.module.state_dict()
        for name, average in self.average.items():
            average.lerp_(current[name].float(), weight)

    @contextlib.contextmanager
    def swapped(self) -> Iterator[None]:
        current = self.module.state_dict()
        trained = {name: current[name].detach().clone() for name in self.average}
        self.module.load_state_dict(self.average, strict=False)
        try:
            yield
        finally:
            self.module.load_state_dict(trained, strict=False)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.average

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name, average in self.average.items():
            average.copy_(state[name])
