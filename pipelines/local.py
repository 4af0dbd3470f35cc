"""In-process streaming executor: reader thread -> model on batches -> hand-off in a thread
behind the model -> chunks of the video outputs encoded on a pool of threads, PNG frames
(and their foreground colour) to writer threads."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

import video
from pipelines.foreground import Foregrounds
from pipelines.job import VideoJob
from pipelines.progress import Progress
from pipelines.segment_pool import SegmentPool, default_encode_threads
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
    executor's chunks contain. With `job.options.encode_threads` above 1 (by default where
    the machine has 4 cores or more) video outputs are encoded a chunk at a time on that
    many threads (`pipelines.segment_pool`), with their foreground colour; else, and for
    PNG folders, frame by frame in a writer thread each, their colour estimated in a
    thread behind the model. The colour is estimated on `device` (the model's). On any
    error every output is discarded.
    """
    size = job.batch_size
    threads = job.options.encode_threads or default_encode_threads()
    segmented = job.segmented() if threads > 1 else []
    foregrounds = Foregrounds(job.foreground_prompts(job.framed(segmented)), device)

    def write(frames: list, rgb: np.ndarray, alphas: np.ndarray) -> None:
        segments.put_batch(frames, alphas)
        sink.put_batch(frames, alphas, foregrounds(rgb, alphas))

    with Sink(job.specs, job.open_writer, segmented=segmented) as sink, \
            SegmentPool(job, sink, segmented, threads, device) as segments, Behind(write) as behind, \
            Prefetch(lambda: batched(video.read_frames(job.input, job.start, job.stop), size),
                     READ_AHEAD_BATCHES) as reader:
        for batch, rgb, alphas in matted(reader, matter, job.options.stabilise):
            behind.put(batch, rgb, alphas)
            progress.update(len(batch))

