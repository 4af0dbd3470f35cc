"""Ray executor: model actors (one per GPU, or N CPU actors), a chunk plan, ordered assembly.

The driver keeps `IN_FLIGHT_PER_ACTOR` chunks queued on each actor with `ray.wait`,
resubmits a chunk whose actor died to a surviving or replacement actor, and hands the
alphas, in frame order, to the same writer threads the local executor uses. The driver
decodes the source again for the writers (they need its pixels and pts); only uint16
alphas travel back from the actors.
"""
from __future__ import annotations

import bisect
import contextlib
import logging
from collections import Counter
from typing import Iterator

import numpy as np
import ray
from ray.exceptions import ObjectLostError, RayActorError, RayTaskError

import video
from pipelines.job import Chunk, VideoJob
from pipelines.options import UsageError, one_line
from pipelines.progress import Progress
from pipelines.streams import Prefetch, Sink

IN_FLIGHT_PER_ACTOR = 2
MAX_CHUNK_ATTEMPTS = 3
CPUS_PER_WORKER_DEFAULT = 4
READ_AHEAD_FRAMES = 8


@ray.remote
class MatteWorker:
    """Loads the model once; mattes chunks of any video, caching each prompt set's embedding."""

    def __init__(self, model: str, device: str, dtype: str, threads: int):
        import cv2
        import torch

        from pipelines.model import load_pipeline, resolve_device, resolve_dtype

        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
        self.device = resolve_device(device)
        self.pipe = load_pipeline(model, self.device, resolve_dtype(dtype, self.device))
        self.matters: dict = {}

    def ready(self) -> str:
        return str(self.device)

    def matte_chunk(self, path: str, start: int, stop: int, prompts: tuple[str, ...],
                    resolution: int | None, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Frames start..stop of `path` -> (frame indices (N,), alphas (P,N,H,W) uint16)."""
        from pipelines.model import FrameMatter
        from pipelines.streams import batched

        key = (prompts, resolution)
        if key not in self.matters:
            self.matters[key] = FrameMatter(self.pipe, list(prompts), resolution)
        matter = self.matters[key]
        indices, alphas = [], []
        with Prefetch(lambda: batched(video.read_frames(path, start, stop), batch_size)) as reader:
            for batch in reader:
                indices.extend(f.index for f in batch)
                alphas.append(matter(np.stack([f.rgb for f in batch])))
        return np.asarray(indices), np.concatenate(alphas, axis=1)

    def peak_memory_mb(self) -> int | None:
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
        self.chunks_retried = 0
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

    def peak_memory_mb(self) -> int | None:
        values = [v for v in ray.get([a.peak_memory_mb.remote() for a in self.actors]) if v]
        return max(values) if values else None

    def shutdown(self) -> None:
        for actor in self.actors + list(self.starting.values()):
            with contextlib.suppress(Exception):
                ray.kill(actor)
        self.actors, self.starting = [], {}

    def ordered(self, job: VideoJob) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(indices, alphas) of every chunk of `job`, in order, whatever finishes first."""
        chunks = job.chunks()
        pending: list[Chunk] = list(chunks)
        inflight: dict = {}
        load: Counter = Counter()
        attempts: Counter = Counter()
        done: dict[int, tuple] = {}
        next_index = 0
        args = (job.input, tuple(job.prompts), job.options.resolution, job.options.batch_size)
        try:
            while next_index < len(chunks):
                window = next_index + IN_FLIGHT_PER_ACTOR * max(1, len(self.actors))
                for actor in list(self.actors):
                    while load[actor] < IN_FLIGHT_PER_ACTOR and pending and pending[0].index < window:
                        chunk = pending.pop(0)
                        ref = actor.matte_chunk.remote(args[0], chunk.start, chunk.stop, *args[1:])
                        inflight[ref] = (chunk, actor)
                        load[actor] += 1
                if not inflight and not self.starting:
                    raise RuntimeError("every Ray worker died; no worker left to run the video")
                [ref], _ = ray.wait(list(inflight) + list(self.starting), num_returns=1)
                if ref in self.starting:
                    self.started(ref)
                    continue
                chunk, actor = inflight.pop(ref)
                load[actor] -= 1
                try:
                    done[chunk.index] = ray.get(ref)
                except (RayActorError, ObjectLostError) as exc:  # a dead actor or node
                    attempts[chunk.index] += 1
                    if attempts[chunk.index] >= MAX_CHUNK_ATTEMPTS:
                        raise RuntimeError(f"chunk {chunk.start}:{chunk.stop} failed "
                                           f"{attempts[chunk.index]} times: {one_line(exc)}") from None
                    if isinstance(exc, RayActorError):
                        self.lost(actor)
                    self.chunks_retried += 1
                    bisect.insort(pending, chunk, key=lambda c: c.index)
                except RayTaskError as exc:
                    raise exc.cause from None
                while next_index in done:
                    yield done.pop(next_index)
                    next_index += 1
        finally:
            for ref in inflight:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)


def run_ray(job: VideoJob, pool: WorkerPool, progress: Progress) -> None:
    """Matte `job` on the pool's actors; write every output in frame order on the driver."""
    with Sink(job.specs, job.open_writer) as sink, \
            Prefetch(lambda: video.read_frames(job.input, job.start, job.stop),
                     READ_AHEAD_FRAMES) as source:
        frames = iter(source)
        for indices, alphas in pool.ordered(job):
            for i, index in enumerate(indices):
                frame = next(frames)
                if frame.index != index:
                    raise RuntimeError(f"{job.input}: frame {frame.index} decoded on the driver, "
                                       f"{index} on a worker; the file decodes inconsistently")
                sink.put(frame, alphas[:, i])
            progress.update(len(indices))
