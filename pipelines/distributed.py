"""Ray executor: model actors (one per GPU, or N CPU actors), chunk plans, ordered assembly.

`RayScheduler` runs the videos of a batch (or one video: the same code) on one
`WorkerPool`. It keeps `IN_FLIGHT_PER_ACTOR` chunks queued on every actor and, while the
open videos have no chunk left for a free slot, opens the next video, up to its
`max_open_videos`. Every video file output is encoded where its mattes are made: each
actor encodes its chunk of each output into a segment (`video.segments`: a fresh encoder,
so the chunk starts with a keyframe), and each open video (`VideoRun`) joins the
segments, in order, without re-encoding, in the same writer threads the local executor
uses, which mux the audio once. The file depends on the chunk plan only, never on the
number of workers. Only PNG-folder outputs take uint16 alphas (and, for colour, the uint8
foreground estimated on the actors) back to be written on the driver. The driver decodes
no pixels, except for a PNG-folder preview, which shows the source and so decodes it again.
A chunk whose actor died is re-run on a surviving or replacement actor; anything else
(a worker's exception, an inconsistent decode, a chunk failing MAX_CHUNK_ATTEMPTS times)
fails only its own video, whose outputs are discarded.
"""
from __future__ import annotations

import bisect
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import ray
from ray.exceptions import ObjectLostError, RayActorError, RayTaskError

import video
from pipelines.job import Chunk, VideoJob
from pipelines.errors import UsageError, one_line
from pipelines.progress import job_progress
from pipelines.streams import Prefetch, Sink
from pipelines.temporal import chunk_span
from video.segments import Segment

IN_FLIGHT_PER_ACTOR = 2
MAX_CHUNK_ATTEMPTS = 3
CPUS_PER_WORKER_DEFAULT = 4
READ_AHEAD_FRAMES = 8
# RayScheduler's default for the videos open at once on the driver (each: a reader,
# writers, chunks held for ordering)
MAX_OPEN_VIDEOS = 8

# frame indices, alphas (None when no output takes them), foreground colours by prompt,
# segments by output position, peak GPU MiB
ChunkResult = tuple[np.ndarray, np.ndarray | None, dict[int, np.ndarray], dict[int, Segment],
                    int | None]


@dataclass(frozen=True)
class ChunkOutputs:
    """What an actor makes of a chunk besides mattes: `segments`, the outputs it encodes
    (position in the job's outputs, path, kind, prompt); `alphas`, whether the alphas go
    back; `foreground_prompts`, the prompts whose foreground colour it estimates, and
    `colour_prompts`, those whose colour goes back (for PNG-folder outputs); `background`
    of composites, and `first_output_frame`, the chunk's first frame counted from the
    output's start."""

    segments: tuple[tuple[int, str, str, int], ...]
    alphas: bool
    foreground_prompts: tuple[int, ...]
    colour_prompts: tuple[int, ...]
    background: str | None
    first_output_frame: int


def chunk_outputs(job: VideoJob, chunk: Chunk) -> ChunkOutputs:
    """What the actor running `chunk` of `job` encodes and sends back besides its indices."""
    encoded = job.segmented()
    framed = job.framed(encoded)
    return ChunkOutputs(
        segments=tuple((i, str(job.specs[i].path), job.specs[i].kind, job.specs[i].prompt_index)
                       for i in encoded),
        alphas=bool(framed), foreground_prompts=tuple(job.foreground_prompts()),
        colour_prompts=tuple(job.foreground_prompts(framed)),
        background=job.options.background, first_output_frame=chunk.start - job.start)


@ray.remote
class MatteWorker:
    """Loads the model once; mattes chunks of any video, caching each prompt set's embedding."""

    def __init__(self, model: str, device: str, dtype: str, threads: int):
        import cv2
        import torch

        from pipelines.model_loading import load_inference_pipeline, resolve_device, resolve_dtype

        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
        self.device = resolve_device(device)
        self.pipe = load_inference_pipeline(model, self.device, resolve_dtype(dtype, self.device))
        self.matters: dict = {}

    def ready(self) -> str:
        return str(self.device)

    def matte_chunk(self, path: str, start: int, stop: int, prompts: tuple[str, ...],
                    resolution: int | None, batch_size: int, square: bool,
                    span: tuple[int, int] | None, outputs: ChunkOutputs) -> ChunkResult:
        """Frames start..stop of `path` -> (frame indices (N,), alphas (P,N,H,W) uint16 or
        None, {prompt: foreground F (N,H,W,3) uint8} for `outputs.colour_prompts`,
        {output position: Segment} for `outputs.segments`, this actor's peak GPU memory in
        MiB so far or None on CPU). F is estimated here, on the model's device.
        `span`: run the temporal stabiliser on frames [span[0], span[1]), a warm-up before
        `start` and a look-ahead after `stop` (`pipelines.temporal.chunk_span`); None: none."""
        from pipelines.foreground import Foregrounds
        from pipelines.frame_matter import FrameMatter
        from pipelines.segment_pool import write_frames
        from pipelines.streams import batched
        from pipelines.temporal import matted
        from video.reader import cached_probe
        from video.segments import SegmentEncoder

        key = (prompts, resolution, square)
        if key not in self.matters:
            self.matters[key] = FrameMatter(self.pipe, list(prompts), resolution, square)
        matter = self.matters[key]
        first, last = (start, stop) if span is None else span
        info = cached_probe(path)
        foregrounds = Foregrounds(outputs.foreground_prompts, self.device)
        indices, alphas, colours = [], [], []
        with contextlib.ExitStack() as stack:
            encoders = {i: (stack.enter_context(SegmentEncoder(out, kind, info, outputs.background,
                                                               outputs.first_output_frame)), prompt)
                        for i, out, kind, prompt in outputs.segments}
            reader = stack.enter_context(Prefetch(lambda: batched(video.read_frames(path, first, last),
                                                                  batch_size)))
            for batch, rgb, out in matted(reader, matter, span is not None):
                keep = [i for i, f in enumerate(batch) if start <= f.index < stop]
                if not keep:
                    continue
                kept = out[:, keep]
                colour = foregrounds(rgb[keep], kept)
                write_frames(encoders.values(), [batch[i] for i in keep], kept, colour)
                indices.extend(batch[i].index for i in keep)
                if outputs.alphas:
                    alphas.append(kept)
                colours.append({p: colour[p] for p in outputs.colour_prompts})
            if not indices:
                raise video.VideoError(f"{path}: frames {start}:{stop} could not be decoded")
            segments = {i: encoder.finish() for i, (encoder, _) in encoders.items()}
        colour = {p: np.concatenate([c[p] for c in colours]) for p in outputs.colour_prompts}
        return (np.asarray(indices), np.concatenate(alphas, axis=1) if outputs.alphas else None,
                colour, segments, self._peak_memory_mb())

    def _peak_memory_mb(self) -> int | None:
        import torch

        if self.device.type != "cuda":
            return None
        return int(torch.cuda.max_memory_allocated(self.device) // 2 ** 20)


@contextlib.contextmanager
def ray_session(address: str) -> Iterator[None]:
    """Use the Ray already initialised in this process, or connect (and later disconnect).

    `local` starts a private instance on this machine; `auto` finds a running cluster;
    `HOST:PORT` connects to one.
    """
    if ray.is_initialized():
        yield
        return
    try:
        ray.init(address=address, include_dashboard=False if address == "local" else None,
                 logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UsageError(f"--ray-address {address}: cannot start or reach Ray ({one_line(exc)})") from None
    try:
        yield
    finally:
        ray.shutdown()


class WorkerPool:
    """Model actors on the cluster; replaces an actor that dies, up to `max_replacements`."""

    def __init__(self, model: str, device: str, dtype: str, num_workers: int | None,
                 threads: int | None = None):
        if not isinstance(model, str):
            raise UsageError("the Ray executor needs --model as a folder path or hub id")
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        if device == "cuda" and not gpus:
            raise UsageError("--device cuda: the Ray cluster has no GPU (use --device cpu)")
        self.use_gpu = gpus > 0 and device != "cpu"
        if self.use_gpu:
            self.size = num_workers or gpus
            threads = threads or max(1, cpus // self.size)
            self._options = {"num_gpus": 1, "num_cpus": 1}
        else:
            self.size = num_workers or max(1, cpus // CPUS_PER_WORKER_DEFAULT)
            threads = threads or max(1, cpus // self.size)
            self._options = {"num_cpus": min(threads, cpus)}
        self.threads = threads
        self._args = (model, "cuda" if self.use_gpu else "cpu", dtype, threads)
        self.replacements_left = 2 * self.size
        self.workers_lost = 0  # actors that died, while starting or while working
        self.actors: list = []
        self.starting: dict = {}
        for _ in range(self.size):
            self._spawn()

    def _spawn(self) -> None:
        actor = MatteWorker.options(max_restarts=0, **self._options).remote(*self._args)
        self.starting[actor.ready.remote()] = actor

    def lost(self, actor) -> None:
        """Forget a dead actor and start a replacement while the budget lasts."""
        if actor in self.actors:
            self.actors.remove(actor)
            self.workers_lost += 1
            with contextlib.suppress(Exception):
                ray.kill(actor)
            if self.replacements_left > 0:
                self.replacements_left -= 1
                self._spawn()

    def started(self, ref) -> None:
        """An actor's ready() came back: it joins the pool, or counts as lost."""
        actor = self.starting.pop(ref)
        try:
            ray.get(ref)
        except RayActorError as exc:
            self.actors.append(actor)
            self.lost(actor)
            if not self.actors and not self.starting:
                raise RuntimeError(f"no Ray worker could start: {one_line(exc)}") from None
            return
        self.actors.append(actor)

    def wait_started(self) -> None:
        """Block until no actor is starting any more (each joined the pool or was lost)."""
        while self.starting:
            [ref], _ = ray.wait(list(self.starting), num_returns=1)
            self.started(ref)

    @property
    def slots(self) -> int:
        """Chunks the pool keeps queued when every actor is up."""
        return IN_FLIGHT_PER_ACTOR * self.size

    def submit(self, actor, job: VideoJob, chunk: Chunk) -> ray.ObjectRef:
        """Queue one chunk of `job` on `actor`; the ref gives its `ChunkResult`."""
        opts = job.options
        return actor.matte_chunk.remote(job.input, chunk.start, chunk.stop, tuple(job.prompts),
                                        opts.resolution, job.batch_size, opts.square,
                                        chunk_span(job, chunk) if opts.stabilise else None,
                                        chunk_outputs(job, chunk))

    def shutdown(self) -> None:
        for actor in self.actors + list(self.starting.values()):
            with contextlib.suppress(Exception):
                ray.kill(actor)
        self.actors, self.starting = [], {}


class VideoRun:
    """One video open on the driver: its chunk plan, chunks done out of order, its writers
    (and, for a PNG-folder preview, a reader). Chunks are handed out in order; segments
    and alphas reach the writers in frame order.

    Once `finish` ran: `error` (None on success), `chunks_retried` (its chunks re-run after
    an actor died), `workers_lost` (actors lost while it was open) and
    `peak_gpu_memory_mb` (the peak its actors reported with its chunks; None on CPU).
    """

    def __init__(self, key: object, job: VideoJob, workers_lost: int):
        """Open `job`'s writers and driver-side reader; `workers_lost` is the pool's count now."""
        self.key, self.job = key, job
        self.chunks = job.chunks()
        self.pending: list[Chunk] = list(self.chunks)
        self.done: dict[int, tuple] = {}  # chunk index -> its result, less the peak memory
        self.next_index = 0
        self.attempts: Counter = Counter()
        self.chunks_retried = 0
        self.workers_lost = 0
        self.peak_gpu_memory_mb: int | None = None  # the largest its actors reported
        self._lost_at_open = workers_lost
        self.error: BaseException | None = None
        self.closed = False
        self.progress = job_progress(job)
        with contextlib.ExitStack() as stack:
            stack.enter_context(self.progress)
            encoded = job.segmented()
            self._sink = stack.enter_context(Sink(job.specs, job.open_writer, segmented=encoded))
            self._frames: Iterator[video.Frame] | None = None  # decoded again for a PNG preview only
            if any(s.kind == "preview" for i, s in enumerate(job.specs) if i not in encoded):
                self._frames = iter(stack.enter_context(Prefetch(
                    lambda: video.read_frames(job.input, job.start, job.stop), READ_AHEAD_FRAMES)))
            self._stack = stack.pop_all()

    def has_chunk(self, window: int) -> bool:
        """A chunk waits to run within `window` chunks of the first one not yet written."""
        return bool(self.pending) and self.pending[0].index < self.next_index + window

    def take_chunk(self) -> Chunk:
        return self.pending.pop(0)

    def retry(self, chunk: Chunk, exc: Exception) -> None:
        """Queue again a chunk whose actor died; raise once it failed MAX_CHUNK_ATTEMPTS times."""
        self.attempts[chunk.index] += 1
        if self.attempts[chunk.index] >= MAX_CHUNK_ATTEMPTS:
            raise RuntimeError(f"{self.job.input}: chunk {chunk.start}:{chunk.stop} failed "
                               f"{self.attempts[chunk.index]} times: {one_line(exc)}")
        self.chunks_retried += 1
        bisect.insort(self.pending, chunk, key=lambda c: c.index)

    def accept(self, chunk: Chunk, result: ChunkResult) -> None:
        """Keep a chunk's segments, alphas and colours; write every chunk that is now next
        in order."""
        *kept, peak = result
        if peak is not None:
            self.peak_gpu_memory_mb = max(peak, self.peak_gpu_memory_mb or 0)
        self.done[chunk.index] = tuple(kept)
        while self.next_index in self.done:
            self._write(*self.done.pop(self.next_index))
            self.next_index += 1

    def _write(self, indices: np.ndarray, alphas: np.ndarray | None, colours: dict[int, np.ndarray],
               segments: dict[int, Segment]) -> None:
        for position, segment in segments.items():
            self._sink.put_segment(position, segment)
        if alphas is not None:
            for i, index in enumerate(indices):
                self._sink.put(self._frame(int(index)), alphas[:, i], {p: f[i] for p, f in colours.items()})
        self.progress.update(len(indices))

    def _frame(self, index: int) -> video.Frame:
        """Frame `index` for the writers: its stamp, or decoded again (for a preview) and
        checked against the workers' index."""
        if self._frames is None:
            return video.stamp(self.job.info, index)
        frame = next(self._frames, None)
        if frame is None or frame.index != index:
            got = "no frame" if frame is None else f"frame {frame.index}"
            raise RuntimeError(f"{self.job.input}: {got} decoded on the driver, {index} on "
                               "a worker; the file decodes inconsistently")
        return frame

    @property
    def complete(self) -> bool:
        return self.next_index == len(self.chunks)

    def finish(self, error: BaseException | None, workers_lost: int) -> None:
        """Close the outputs: renamed into place, or discarded when `error` is given."""
        self.closed = True
        self.done.clear()
        self.workers_lost = workers_lost - self._lost_at_open
        try:
            if error is None:
                self._stack.close()
            else:
                self._stack.__exit__(type(error), error, error.__traceback__)
        except Exception as exc:  # a writer failed while finishing its file
            error = exc
        self.error = error


class RayScheduler:
    """Runs (key, job) pairs on a WorkerPool, several videos at once; see the module doc.

    `jobs` is read lazily: the next job is taken only when a video is to be opened.
    `max_open_videos` bounds the videos open at once (the driver's threads, open files and
    held chunks); 1 runs them one after another.
    """

    def __init__(self, pool: WorkerPool, jobs: Iterable[tuple[object, VideoJob]],
                 max_open_videos: int = MAX_OPEN_VIDEOS):
        self.pool = pool
        self.max_open_videos = max_open_videos
        self._jobs = iter(jobs)
        self._open: list[VideoRun] = []
        self._inflight: dict[ray.ObjectRef, tuple[VideoRun, Chunk, object]] = {}
        self._load: Counter = Counter()

    def run(self) -> Iterator[VideoRun]:
        """Every video, as it finishes (`error` set when it failed)."""
        try:
            while True:
                self._fill()
                if not self._open:
                    return
                yield from self._step()
        finally:
            self._stop()

    def _fill(self) -> None:
        """Give free actor slots chunks; open the next video while slots stay free."""
        self._submit()
        while len(self._open) < self._open_limit() and (
                not self._open or self._free_actor() is not None):
            item = next(self._jobs, None)
            if item is None:
                return
            self._open.append(VideoRun(*item, self.pool.workers_lost))
            self._submit()

    def _open_limit(self) -> int:
        """Videos to keep open: enough for one-chunk videos to fill every slot of the pool,
        at most `max_open_videos`."""
        return max(1, min(self.max_open_videos, self.pool.slots))

    def _free_actor(self):
        """The least loaded actor if it has a free slot, else None."""
        actor = min(self.pool.actors, key=self._load.__getitem__, default=None)
        return actor if actor is not None and self._load[actor] < IN_FLIGHT_PER_ACTOR else None

    def _submit(self) -> None:
        """Each free slot gets the next chunk of the earliest open video that has one."""
        window = IN_FLIGHT_PER_ACTOR * max(1, len(self.pool.actors))
        while (actor := self._free_actor()) is not None:
            run = next((r for r in self._open if r.has_chunk(window)), None)
            if run is None:
                return
            chunk = run.take_chunk()
            self._inflight[self.pool.submit(actor, run.job, chunk)] = (run, chunk, actor)
            self._load[actor] += 1

    def _step(self) -> list[VideoRun]:
        """Wait for one chunk (or starting actor) and act on it; the videos that ended."""
        waiting = list(self._inflight) + list(self.pool.starting)
        if not waiting:
            return self._fail_open(RuntimeError("every Ray worker died; no worker left to "
                                                "run the video"))
        [ref], _ = ray.wait(waiting, num_returns=1)
        if ref in self.pool.starting:
            try:
                self.pool.started(ref)
            except RuntimeError as exc:  # no actor could start: nothing can run
                return self._fail_open(exc)
            return []
        run, chunk, actor = self._inflight.pop(ref)
        self._load[actor] -= 1
        if run.closed:  # a chunk of a video that already failed
            return self._discard(ref, actor)
        try:
            self._collect(ref, run, chunk, actor)
        except Exception as exc:  # costs this video only
            return [self._close(run, exc)]
        return [self._close(run)] if run.complete else []

    def _collect(self, ref: ray.ObjectRef, run: VideoRun, chunk: Chunk, actor) -> None:
        """Give a chunk's alphas to its video, or queue the chunk again if its actor died."""
        try:
            result = ray.get(ref)
        except (RayActorError, ObjectLostError) as exc:  # a dead actor or node
            if isinstance(exc, RayActorError):
                self.pool.lost(actor)
            run.retry(chunk, exc)
            return
        except RayTaskError as exc:  # the worker's own error, e.g. a bad file
            raise exc.cause from None
        run.accept(chunk, result)

    def _discard(self, ref: ray.ObjectRef, actor) -> list[VideoRun]:
        """Drop a chunk whose video already ended; note its actor's death, if it died."""
        try:
            ray.get(ref)
        except RayActorError:
            self.pool.lost(actor)
        except Exception:  # cancelled, or the error that already failed its video
            pass
        return []

    def _close(self, run: VideoRun, error: BaseException | None = None) -> VideoRun:
        """Take `run` off the open list, cancel its queued chunks, finish its outputs."""
        self._open.remove(run)
        for ref, (owner, _, _) in self._inflight.items():
            if owner is run:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
        run.finish(error, self.pool.workers_lost)
        return run

    def _fail_open(self, error: BaseException) -> list[VideoRun]:
        return [self._close(run, error) for run in list(self._open)]

    def _stop(self) -> None:
        """On an early exit (an error, Ctrl-C): cancel every chunk, discard open outputs."""
        for ref in self._inflight:
            with contextlib.suppress(Exception):
                ray.cancel(ref)
        self._fail_open(RuntimeError("stopped before the video was finished"))
