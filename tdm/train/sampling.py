"""Deterministic, resumable sample order shared by every worker.

The stream of training indices depends only on the seed and the list of training
indices, never on the number of workers: optimiser step ``s`` uses the global batch at
positions ``[s*G, (s+1)*G)`` of the stream, cut into ``world * accum`` equal
micro-batches; micro-step ``m`` of rank ``r`` takes chunk ``m * world + r``. One worker
with ``accum=2`` therefore sees exactly what two workers with ``accum=1`` see.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import torch


def split_holdout(num_samples: int, val_size: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """Split ``range(num_samples)`` into (train, held-out) index lists, seeded."""
    if num_samples < 2:
        raise ValueError("a dataset needs at least two samples to hold one out")
    val_size = min(max(val_size, 1), num_samples // 2)
    perm = torch.randperm(num_samples, generator=torch.Generator().manual_seed(seed)).tolist()
    return sorted(perm[val_size:]), sorted(perm[:val_size])


class MicroBatchSampler:
    """Yields the index lists of one rank's micro-batches, from ``start_micro`` on.

    Args:
        indices: training indices the stream is drawn from (reshuffled every pass).
        micro_batch: samples per micro-batch on one rank.
        world: number of workers; rank: this worker.
        accum: micro-batches per optimiser step and rank.
        seed: shuffling seed; start_step: first optimiser step to yield.
    """

    def __init__(self, indices: Sequence[int], micro_batch: int, world: int = 1,
                 rank: int = 0, accum: int = 1, seed: int = 0, start_step: int = 0):
        self.indices = list(indices)
        self.micro_batch, self.world, self.rank, self.accum = micro_batch, world, rank, accum
        self.seed, self.start_step = seed, start_step
        self._perm: tuple[int, list[int]] = (-1, [])

    @property
    def global_batch(self) -> int:
        return self.micro_batch * self.world * self.accum

    def _position(self, pos: int) -> int:
        """Training index at global stream position ``pos``."""
        n = len(self.indices)
        epoch, offset = divmod(pos, n)
        if self._perm[0] != epoch:
            gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            self._perm = (epoch, torch.randperm(n, generator=gen).tolist())
        return self.indices[self._perm[1][offset]]

    def step_batches(self, step: int) -> list[list[int]]:
        """This rank's ``accum`` micro-batches for optimiser step ``step``."""
        out = []
        for micro in range(self.accum):
            chunk = micro * self.world + self.rank
            first = step * self.global_batch + chunk * self.micro_batch
            out.append([self._position(first + i) for i in range(self.micro_batch)])
        return out

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            yield from self.step_batches(step)
            step += 1
