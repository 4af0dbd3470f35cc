"""In-process streaming executor: reader thread -> model on batches -> foreground colour
and hand-off to the writers in a thread behind the model -> writer threads."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

import video
from pipelines.foreground import Foregrounds
from pipelines.job import VideoJob
from pipelines.progress import Progress
from pipelines.streams import Behind, Prefetch, Sink, batched
from pipelines.temporal import matted

READ_AHEAD_BATCHES = 2


def run_local(job: VideoJob, matter: Callable[[np.ndarray], np.ndarray], progress: Progress,
              device: torch.device | str = "cpu") -> None:
    """Matte every frame of `job` and write all its outputs.

    `matter` maps rgb (N,H,W,3) uint8 to alpha (P,N,H,W) uint16 (a `FrameMatter`); with
    `job.options.stabilise` its alphas pass the temporal stabiliser, which gives each batch
    back once the next one is matted (`pipelines.temporal.matted`).
    Batches start at `job.start` every `batch_size` frames, the same batches the Ray
    executor's chunks contain. The foreground colour of the colour outputs is estimated
    on `device` (the model's) while the model runs the next batch. On any error every
    output is discarded.
    """
    size = job.batch_size
    foregrounds = Foregrounds(job.foreground_prompts(), device)

    def write(frames: list, rgb: np.ndarray, alphas: np.ndarray) -> None:
        sink.put_batch(frames, alphas, foregrounds(rgb, alphas))

    with Sink(job.specs, job.open_writer) as sink, Behind(write) as behind, \
            Prefetch(lambda: batched(video.read_frames(job.input, job.start, job.stop), size),
                     READ_AHEAD_BATCHES) as reader:
        for batch, rgb, alphas in matted(reader, matter, job.options.stabilise):
            behind.put(batch, rgb, alphas)
            progress.update(len(batch))
