"""In-process streaming executor: reader thread -> model on batches -> writer threads."""
from __future__ import annotations

from typing import Callable

import numpy as np

import video
from pipelines.job import VideoJob
from pipelines.progress import Progress
from pipelines.streams import Prefetch, Sink, batched

READ_AHEAD_BATCHES = 2


def run_local(job: VideoJob, matter: Callable[[np.ndarray], np.ndarray], progress: Progress) -> None:
    """Matte every frame of `job` and write all its outputs.

    `matter` maps rgb (N,H,W,3) uint8 to alpha (P,N,H,W) uint16 (a `FrameMatter`).
    Batches start at `job.start` every `batch_size` frames, the same batches the Ray
    executor's chunks contain. On any error every output is discarded.
    """
    size = job.batch_size
    with Sink(job.specs, job.open_writer) as sink, \
            Prefetch(lambda: batched(video.read_frames(job.input, job.start, job.stop), size),
                     READ_AHEAD_BATCHES) as reader:
        for batch in reader:
            alphas = matter(np.stack([f.rgb for f in batch]))
            for i, frame in enumerate(batch):
                sink.put(frame, alphas[:, i])
            progress.update(len(batch))
