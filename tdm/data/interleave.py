"""The paper's dataset interleaving (section 4.1): RefMatte on odd iterations, RefCOCO on
even ones, and after every 4 iterations a special one from P3M-10K / AM2K / RM-1K chosen
at random. Deterministic: the source of an iteration depends only on (seed, iteration)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from torch.utils.data import Dataset

from .sample import Sample, item_rng


class InterleavedSchedule:
    """Which source each (0-based) iteration trains on.

    ``primary`` sources alternate (iteration 0 -> primary[0], the paper's first, odd,
    iteration); after every ``special_every`` primary iterations one iteration uses a
    ``special`` source drawn at random. With no special sources the primaries simply
    alternate; a single source is used every time."""

    def __init__(self, primary: Sequence[str], special: Sequence[str] = (), special_every: int = 4, seed: int = 0):
        if not primary and not special:
            raise ValueError("InterleavedSchedule needs at least one source")
        self.primary = list(primary) or list(special)
        self.special = list(special) if primary else []
        self.special_every, self.seed = int(special_every), int(seed)

    def source_at(self, iteration: int) -> str:
        if not self.special:
            return self.primary[iteration % len(self.primary)]
        cycle = self.special_every + 1
        pos = iteration % cycle
        if pos == self.special_every:
            rng = np.random.default_rng([self.seed, int(iteration), 1])
            return self.special[int(rng.integers(len(self.special)))]
        k = (iteration // cycle) * self.special_every + pos
        return self.primary[k % len(self.primary)]


class InterleavedDataset(Dataset):
    """Sample ``i`` belongs to iteration ``i // samples_per_iteration`` and comes from that
    iteration's source, so a sequential (unshuffled) DataLoader with batch size
    ``samples_per_iteration`` yields single-source batches in the schedule's order.
    The index inside the source is drawn from (seed, i)."""

    def __init__(self, datasets: Mapping[str, Dataset], schedule: InterleavedSchedule,
                 samples_per_iteration: int = 1, seed: int = 0, length: int | None = None):
        self.datasets, self.schedule = dict(datasets), schedule
        self.samples_per_iteration, self.seed = max(1, int(samples_per_iteration)), int(seed)
        self.length = int(length) if length else sum(len(d) for d in self.datasets.values())
        self.name = "+".join(self.datasets)

    def __len__(self) -> int:
        return self.length

    def source_of(self, index: int) -> str:
        return self.schedule.source_at(index // self.samples_per_iteration)

    def __getitem__(self, index: int) -> Sample:
        name = self.source_of(index)
        inner = int(item_rng(self.seed, index).integers(2**31 - 1))
        return self.datasets[name][inner]
