"""The local executor's video outputs, encoded a chunk at a time on a pool of threads.

Each chunk of the job's plan (`VideoJob.chunks`, the Ray executor's) becomes one segment
of every video output (`video.segments`), with its frames' foreground colour where the
output needs it; the segments reach the writers (`streams.Sink.put_segment`) in order. So
the file depends on the chunk plan only: the same bytes for any number of threads, and
the same as a Ray run's. A chunk's thread takes its frames as the model gives them, and
the next chunk starts on another thread while the first still encodes; PyAV converts and
encodes without the GIL, and OpenCV estimates the foreground without it, so the threads
run in parallel on the cores the model leaves (benchmarks/README.md).

At most `threads` chunks are encoded at once and one more waits for a thread; the caller
waits beyond that, so memory is bounded by the chunk plan (`pipelines.job.CHUNK_BYTES`),
never by the video's length.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import queue
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterable

import numpy as np
import torch

from pipelines.foreground import Foregrounds
from pipelines.job import Chunk, VideoJob
from pipelines.quantize import dequantize
from pipelines.streams import Sink
from video.segments import Segment, SegmentEncoder
from video.transaction import Transaction

MAX_ENCODE_THREADS = 4  # the default: one per two cores, at most this many
_END, _ABORT = object(), object()


def default_encode_threads() -> int:
    """One per two cores (the model, the decoder and the stabiliser take the others), at
    most MAX_ENCODE_THREADS. On 2 cores that is 1: the frame-by-frame writers, which
    overlap the colour estimate with the encoder in two threads, were as fast for ProRes
    and 1.4x faster for VP9 (benchmarks/README.md)."""
    return max(1, min(MAX_ENCODE_THREADS, (os.cpu_count() or 1) // 2))


def write_frames(encoders: Iterable[tuple[SegmentEncoder, int]], frames: list, alphas: np.ndarray,
                 colour: dict[int, np.ndarray]) -> None:
    """Frames (N,) into each (encoder, its prompt): alphas (P,N,H,W) uint16, colour
    {prompt: F (N,H,W,3) uint8} for the prompts whose outputs need it (the Ray actors'
    chunks and this pool's)."""
    for encoder, p in encoders:
        for j, frame in enumerate(frames):
            encoder.write(frame, dequantize(alphas[p, j]), colour[p][j] if p in colour else None)


class _Aborted(Exception):
    pass


class SegmentPool(Transaction):
    """Encodes `job`'s outputs at `positions` (some of `job.segmented()`; none: it does
    nothing) chunk by chunk on `threads` threads and hands each chunk's segments to
    `sink`, in chunk order. `put_batch` frames in order; `close()` encodes what is left
    and waits; `abort()` drops it all. As a context manager (a `Transaction`, inside the
    sink's) it closes on a clean exit, before the sink finishes the files, and aborts on an
    error."""

    def __init__(self, job: VideoJob, sink: Sink, positions: list[int], threads: int,
                 device: torch.device | str = "cpu"):
        self.job, self.sink, self.threads = job, sink, threads
        self.positions = positions
        self._foregrounds = Foregrounds(job.foreground_prompts(positions), device)
        self._chunks = collections.deque(job.chunks())
        self._feed: queue.Queue | None = None  # the frames of the chunk being filled
        self._pending: collections.deque[Future] = collections.deque()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="tdm-encode")

    def put_batch(self, frames: list, alphas: np.ndarray) -> None:
        """Frames (each with `.index`, and `.rgb`, kept where an output needs the colour)
        and their alphas (P,N,H,W) uint16, in frame order."""
        if not self.positions:
            return
        for future in self._pending:  # a failed chunk fails the video now
            if future.done() and future.exception() is not None:
                future.result()
        start = 0
        while start < len(frames):
            while frames[start].index >= self._chunks[0].stop:
                self._next_chunk()
            if self._feed is None:
                self._feed = queue.Queue()
                self._pending.append(self._pool.submit(self._encode, self._chunks[0], self._feed))
            stop = start
            while stop < len(frames) and frames[stop].index < self._chunks[0].stop:
                stop += 1
            part = frames[start:stop] if self._foregrounds.prompts else \
                [dataclasses.replace(f, rgb=None) for f in frames[start:stop]]
            self._feed.put((part, alphas[:, start:stop]))
            start = stop

    def _next_chunk(self) -> None:
        """End the chunk being filled; while more than `threads` chunks wait or encode,
        hand the oldest one's segments over (waiting for it)."""
        self._chunks.popleft()
        if self._feed is not None:
            self._feed.put(_END)
            self._feed = None
        while len(self._pending) > self.threads:
            self._deliver(self._pending.popleft())

    def _deliver(self, future: Future) -> None:
        for position, segment in future.result().items():
            self.sink.put_segment(position, segment)

    def _encode(self, chunk: Chunk, feed: queue.Queue) -> dict[int, Segment]:
        """One chunk's segment of each output, from the (frames, alphas (P,N,H,W) uint16)
        parts put into `feed` until _END."""
        job, specs = self.job, self.job.specs
        with contextlib.ExitStack() as stack:
            encoders = {i: (stack.enter_context(SegmentEncoder(specs[i].path, specs[i].kind, job.info,
                                                               job.options.background, chunk.start - job.start)),
                            specs[i].prompt_index) for i in self.positions}
            while (item := feed.get()) is not _END:
                if item is _ABORT:
                    raise _Aborted()
                frames, alphas = item
                colour = self._foregrounds(np.stack([f.rgb for f in frames]), alphas) \
                    if self._foregrounds.prompts else {}
                write_frames(encoders.values(), frames, alphas, colour)
            return {i: encoder.finish() for i, (encoder, _) in encoders.items()}

    def close(self) -> None:
        """Encode the last chunk, hand every segment over, stop the threads."""
        try:
            if self._feed is not None:
                self._feed.put(_END)
                self._feed = None
            while self._pending:
                self._deliver(self._pending.popleft())
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop the chunks not started, stop the one being filled, wait for the others;
        idempotent."""
        if self._feed is not None:
            self._feed.put(_ABORT)
            self._feed = None
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)
