"""Deterministic, resumable sample order shared by every worker.

The stream of dataset indices depends only on the seed, never on the number of
workers: optimiser step ``s`` uses the global batch at stream positions
``[s*G, (s+1)*G)``, cut into ``world * accum`` equal micro-batches; micro-step ``m`` of
rank ``r`` takes chunk ``m * world + r``. One worker with ``accum=2`` therefore sees
exactly what two workers with ``accum=1`` see. ``shuffle`` draws a fresh permutation of
``range(num_samples)`` per pass; without it position ``p`` is index ``p`` (for
``tdm.data.InterleavedDataset``, whose item ``i`` already belongs to iteration
``i // G`` of the paper's dataset schedule). ``group``: indices ``[g*k, g*(k+1))`` stay
together and in order (a dataset's ``group_size``, e.g. the two texts of one scene of
``synthetic:pairs=1``); a micro-batch then holds whole groups.
"""
from __future__ import annotations

from typing import Iterator

import torch


def micro_batch_size(batch_size: int, world: int, accum: int) -> int:
    """Samples per micro-batch when a global batch is split over ``world x accum``."""
    micro, rest = divmod(batch_size, world * accum)
    if rest or micro == 0:
        raise ValueError(f"batch size {batch_size} is not divisible by {world} workers x "
                         f"{accum} accumulation steps")
    return micro


class MicroBatchSampler:
    """Yields the index lists of one rank's micro-batches, from ``start_step`` on.

    Args:
        num_samples: dataset length; micro_batch: samples per micro-batch on one rank.
        world: number of workers; rank: this worker.
        accum: micro-batches per optimiser step and rank.
        seed: shuffling seed; shuffle: permute each pass; start_step: first step yielded.
        group: consecutive indices that stay together (the permutation moves whole groups).
    """

    def __init__(self, num_samples: int, micro_batch: int, world: int = 1, rank: int = 0,
                 accum: int = 1, seed: int = 0, shuffle: bool = True, start_step: int = 0,
                 group: int = 1):
        if micro_batch % group:
            raise ValueError(f"a micro-batch of {micro_batch} cannot hold whole groups of {group} "
                             "samples (the two texts of a pair): use an even batch per worker")
        if num_samples < group:
            raise ValueError("the training dataset is empty")
        self.group, self.num_samples, self.micro_batch = group, num_samples - num_samples % group, micro_batch
        self.world, self.rank, self.accum = world, rank, accum
        self.seed, self.shuffle, self.start_step = seed, shuffle, start_step
        self._perm: tuple[int, list[int]] = (-1, [])

    @property
    def global_batch(self) -> int:
        return self.micro_batch * self.world * self.accum

    def _index(self, pos: int) -> int:
        """Dataset index at global stream position ``pos``."""
        if not self.shuffle:
            return pos
        epoch, offset = divmod(pos, self.num_samples)
        if self._perm[0] != epoch:
            gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            self._perm = (epoch, torch.randperm(self.num_samples // self.group, generator=gen).tolist())
        return self._perm[1][offset // self.group] * self.group + offset % self.group

    def step_batches(self, step: int) -> list[list[int]]:
        """This rank's ``accum`` micro-batches for optimiser step ``step``."""
        out = []
        for micro in range(self.accum):
            chunk = micro * self.world + self.rank
            first = step * self.global_batch + chunk * self.micro_batch
            out.append([self._index(first + i) for i in range(self.micro_batch)])
        return out

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            yield from self.step_batches(step)
            step += 1
