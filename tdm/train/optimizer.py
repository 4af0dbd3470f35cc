"""Optimiser and learning-rate schedule of the paper (appendix 6.3, Table 4).

Before the first milestone the lr follows ``(1 - it/total) ** 0.9``; from each
milestone on it is the base lr times that milestone's factor. ``it`` is the optimiser
step, or, for a run with a time budget, the step-equivalent position that the trainer
passes in (``position``): the schedule then ends when either budget does. An optional
linear warm-up (``warmup_steps``, counted in optimiser steps whatever the budget) ramps
the lr from 1/warmup of it up to it, so a trained model continued at a higher lr is not
shaken by a fresh AdamW's first steps.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence

import torch


@dataclass(frozen=True)
class Hyper:
    """One stage's optimisation settings (Table 4 of the paper by default)."""

    lr: float
    total_steps: int
    batch_size: int
    milestones: tuple[int, ...] = ()
    factors: tuple[float, ...] = ()
    weight_decay: float = 0.01
    power: float = 0.9
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        if len(self.milestones) != len(self.factors):
            raise ValueError(f"{len(self.milestones)} milestones but {len(self.factors)} factors")
        if self.warmup_steps < 0:
            raise ValueError(f"warm-up steps must be >= 0, got {self.warmup_steps}")

    def override(self, **changes) -> "Hyper":
        """Return a copy with the non-None ``changes`` applied. A new ``total_steps``
        without new ``milestones`` moves the milestones with it (Table 4's 15k of 50k
        steps is 30% of any run), so a short run, or a time budget whose schedule runs
        over a large step count, keeps the paper's shape instead of passing a milestone
        set for 50k steps almost at once."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if "total_steps" in changes and "milestones" not in changes:
            scale = changes["total_steps"] / self.total_steps
            changes["milestones"] = tuple(round(m * scale) for m in self.milestones)
        return replace(self, **changes)


PAPER_HYPER: dict[str, Hyper] = {
    "semantic": Hyper(5e-5, 50_000, 32, (15_000, 40_000), (0.5, 0.25)),
    "transparency": Hyper(5e-5, 50_000, 32, (10_000, 35_000), (0.4, 0.25)),
    "matting": Hyper(4e-4, 50_000, 16, (10_000, 35_000), (0.1, 0.05)),
    "upsampler": Hyper(2e-4, 10_000, 16),
}


def lr_factor(step: float, total: int, milestones: Sequence[int], factors: Sequence[float],
              power: float = 0.9) -> float:
    """Multiplier of the base lr at optimiser step ``step`` (0-based; a float position
    between steps is allowed)."""
    for milestone, factor in reversed(list(zip(milestones, factors))):
        if step >= milestone:
            return float(factor)
    return max(0.0, 1.0 - step / max(total, 1)) ** power


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up multiplier at optimiser step ``step`` (0-based): (step + 1) / warmup
    until the warm-up ends, then 1."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0


def build_optimizer(params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]], hyper: Hyper,
                    position: Callable[[int], float] | None = None
                    ) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with the paper's weight decay and the poly + milestone LambdaLR, times the
    warm-up. ``params`` may be parameter groups; a group's own ``lr`` follows the same
    schedule. ``position`` maps the optimiser step to the schedule's position (default:
    the step itself); the warm-up counts optimiser steps."""
    where = position or (lambda step: step)
    optimizer = torch.optim.AdamW(list(params), lr=hyper.lr, weight_decay=hyper.weight_decay,
                                  foreach=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: warmup_factor(step, hyper.warmup_steps)
        * lr_factor(where(step), hyper.total_steps, hyper.milestones, hyper.factors, hyper.power))
    return optimizer, scheduler
