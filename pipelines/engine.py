"""Where a job runs: the model in this process, or actors on Ray; `matte_video` on top."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator, TypeVar

import torch

from pipelines.distributed import RayScheduler, VideoRun, WorkerPool, ray_session
from pipelines.job import VideoJob, prepare_job
from pipelines.local import run_local
from pipelines.frame_matter import FrameMatter
from pipelines.model_loading import (load_inference_pipeline, model_source, resolve_device,
                                     resolve_dtype)
from pipelines.options import MatteOptions
from pipelines.progress import Progress, job_progress, summary

Key = TypeVar("Key")


def local_cpu_threads() -> int:
    """torch threads for a model on this process's CPU: one fewer than torch's count (the
    cores), leaving one to the reader, stabiliser, colour and encoder threads (2 cores, the
    quick suite's clip: 14.3-14.9 fps against 12.6-13.5 with both, benchmarks/README.md)."""
    return max(1, torch.get_num_threads() - 1)


class Engine:
    """Loads the model once (locally or in Ray actors) and runs any number of jobs.

    `log` receives human lines (the device at start); the CLI sends them to stderr.
    """

    def __init__(self, opts: MatteOptions, log: Callable[[str], None] = lambda line: None):
        self.opts = opts
        self._stack = contextlib.ExitStack()
        try:
            model = model_source(opts.model)
            if opts.ray_address:
                self._stack.enter_context(ray_session(opts.ray_address))
                self.pool = WorkerPool(model, opts.device, opts.dtype, opts.num_workers,
                                       opts.threads)
                self._stack.callback(self.pool.shutdown)
                kind = "GPU" if self.pool.use_gpu else "CPU"
                self.device = f"ray:{kind.lower()}"
                log(f"device: Ray, {self.pool.size} {kind} worker(s), {opts.dtype}")
            else:
                self.pool = None
                device = resolve_device(opts.device)
                threads = opts.threads or (local_cpu_threads() if device.type == "cpu" else None)
                if threads:
                    self._stack.callback(torch.set_num_threads, torch.get_num_threads())
                    torch.set_num_threads(threads)
                dtype = resolve_dtype(opts.dtype, device)
                log(f"device: {device}, {opts.dtype}")
                self.pipe = load_inference_pipeline(model, device, dtype)
                self.device = str(device)
        except BaseException:
            self._stack.close()
            raise

    def run(self, job: VideoJob) -> dict:
        """Matte one prepared job; returns its summary, raises what failed it."""
        [(_, outcome)] = self.run_all([(None, job)])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def run_all(self, jobs: Iterable[tuple[Key, VideoJob]]
                ) -> Iterator[tuple[Key, dict | Exception]]:
        """Matte every (key, job), taking the next job only when it is to start; yields
        (key, summary) or (key, the exception that failed it) as each video ends.

        In this process videos run one after another; on Ray several run at once (see
        `distributed.RayScheduler`), so they may end in another order.
        """
        if self.pool is None:
            for key, job in jobs:
                yield key, self._run_local(job)
            return
        for run in RayScheduler(self.pool, jobs).run():
            yield run.key, run.error or self._ray_summary(run)

    def totals(self) -> dict:
        """Executor-wide facts for a batch summary (Ray: `workers`, `workers_lost`)."""
        if self.pool is None:
            return {}
        return {"workers": self.pool.size, "workers_lost": self.pool.workers_lost}

    def _run_local(self, job: VideoJob) -> dict | Exception:
        cuda = self.device.startswith("cuda")
        try:
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            with job_progress(job) as bar:
                matter = FrameMatter(self.pipe, job.prompts, job.options.resolution, job.options.square)
                run_local(job, matter, bar, self.pipe.device)
        except Exception as exc:  # reported by the caller: raised for one video, listed in a batch
            return exc
        peak = int(torch.cuda.max_memory_allocated() // 2 ** 20) if cuda else None
        return self._summary(job, bar, threads=torch.get_num_threads(), peak_gpu_memory_mb=peak)

    def _ray_summary(self, run: VideoRun) -> dict:
        return self._summary(run.job, run.progress, threads=self.pool.threads,
                             workers=self.pool.size, chunks_retried=run.chunks_retried,
                             workers_lost=run.workers_lost,
                             peak_gpu_memory_mb=run.peak_gpu_memory_mb)

    def _summary(self, job: VideoJob, bar: Progress, **facts) -> dict:
        """A video's summary; facts that are None (no GPU memory figure) are left out."""
        return summary(bar, input=job.input, outputs=[str(s.path) for s in job.specs],
                       prompts=job.prompts, device=self.device, dtype=job.options.dtype,
                       executor="local" if self.pool is None else "ray",
                       **{k: v for k, v in facts.items() if v is not None})

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def skipped(job: VideoJob) -> dict:
    return {"input": job.input, "skipped": True, "frames": 0, "seconds": 0.0, "fps": 0.0,
            "outputs": [str(s.path) for s in job.specs]}


def matte_video(input: str, prompt: str | list[str], output: str | list[str], **options) -> dict:
    """Matte one video, like `tdm-video INPUT --prompt ... -o ...`; returns the summary.

    `options` are the fields of `pipelines.options.MatteOptions` (output_type, background,
    model, device, dtype, batch_size, resolution, square, stabilise, start, end, audio, ray_address,
    num_workers, chunk_frames, skip_existing, quiet, progress). Raises
    `pipelines.UsageError` or `video.VideoError` with a one-line message on bad input.
    """
    return run_one(input, prompt, output, MatteOptions.from_kwargs(**options))


def run_one(input: str, prompt: str | list[str], output: str | list[str], opts: MatteOptions,
            log: Callable[[str], None] = lambda line: None) -> dict:
    """Check, then matte one video (or skip it when asked and its outputs exist)."""
    job = prepare_job(input, prompt, output, opts)
    if opts.skip_existing and job.outputs_exist():
        return skipped(job)
    with Engine(opts, log) as engine:
        return engine.run(job)
