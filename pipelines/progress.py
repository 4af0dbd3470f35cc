"""Progress bar (frames, fps, ETA) and the run summary."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from tqdm import tqdm

if TYPE_CHECKING:
    from pipelines.job import VideoJob


class Progress:
    """A tqdm bar on stderr, shown only on a terminal and without --quiet, plus a callback."""

    def __init__(self, total: int, desc: str, quiet: bool,
                 callback: Callable[[int], None] | None = None):
        self.done = 0
        self.started = time.perf_counter()
        self._callback = callback
        self._bar = tqdm(total=total, desc=desc, unit="frame", dynamic_ncols=True, leave=False,
                         disable=quiet or not sys.stderr.isatty())

    def update(self, n: int) -> None:
        self.done += n
        self._bar.update(n)
        if self._callback is not None:
            self._callback(self.done)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def job_progress(job: VideoJob) -> Progress:
    """The bar of one video (named after its file; tqdm stacks those open at once)."""
    opts = job.options
    return Progress(job.frames, Path(job.input).name, opts.quiet, opts.progress)


def summary(progress: Progress, **facts) -> dict:
    """frames, seconds, fps (frames per second of wall time) and whatever else is given."""
    seconds = progress.seconds
    return {"frames": progress.done, "seconds": round(seconds, 3),
            "fps": round(progress.done / seconds, 3) if seconds > 0 else 0.0, **facts}


def describe(result: dict) -> str:
    """One human line for a summary dict."""
    if result.get("skipped"):
        return f"skipped {result['input']} (outputs exist)"
    line = (f"{result['frames']} frames in {result['seconds']:.1f} s ({result['fps']:.2f} fps)"
            f" -> {', '.join(result['outputs'])}")
    if result.get("peak_gpu_memory_mb") is not None:
        line += f"; peak GPU memory {result['peak_gpu_memory_mb']} MiB"
    return line
