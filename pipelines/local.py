"""In-process streaming executor: reader thread -> model on batches -> hand-off in a thread
behind the model -> chunks of the video outputs encoded on a pool of threads, PNG frames
(and their foreground colour) to writer threads."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import numpy as np
import torch

import video
from video.encoding import FOREGROUND_KINDS
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
    foregrounds = Foregrounds({s.prompt_index for i, s in enumerate(job.specs)
                               if i not in segmented and s.kind in FOREGROUND_KINDS}, device)

    def write(frames: list, rgb: np.ndarray, alphas: np.ndarray) -> None:
        segments.put_batch(frames, alphas)
        sink.put_batch(frames, alphas, foregrounds(rgb, alphas))

    with Sink(job.specs, job.open_writer, segmented=segmented) as sink, \
            closing_pool(SegmentPool(job, sink, segmented, threads, device)) as segments, Behind(write) as behind, \
            Prefetch(lambda: batched(video.read_frames(job.input, job.start, job.stop), size),
                     READ_AHEAD_BATCHES) as reader:
        for batch, rgb, alphas in matted(reader, matter, job.options.stabilise):
            behind.put(batch, rgb, alphas)
            progress.update(len(batch))


@contextlib.contextmanager
def closing_pool(pool: SegmentPool) -> Iterator[SegmentPool]:
    """`pool` that, on a clean exit, hands every segment to its sink (before the sink
    finishes the files), and on an error drops them."""
    try:
        yield pool
    except BaseException:
        pool.abort()
        raise
    pool.close()
