"""Threads around the model: a reader that decodes ahead and writers that encode behind.

Both sides use bounded queues, so memory stays flat for a video of any length, and both
carry their thread's exception back to the caller.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, Iterator

import numpy as np

from pipelines.quantize import dequantize
from pipelines.options import OutputSpec
from video.segments import Segment

_END = object()
_ABORT = object()
_POLL_S = 0.1


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def put_while(q: queue.Queue, item, alive: Callable[[], bool]) -> bool:
    """Put `item` into the bounded queue `q`, waiting while `alive()` holds; False if it
    stopped holding first (the other side is gone, so the item would never be taken)."""
    while alive():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last may be shorter)."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Prefetch:
    """Run an iterator in a thread, `maxsize` items ahead of the consumer.

    The iterator is created inside the thread (PyAV containers stay on one thread) and
    closed there when the consumer stops early, so a decode loop never hangs.
    """

    def __init__(self, make_iter: Callable[[], Iterator], maxsize: int = 2):
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(make_iter,), daemon=True,
                                        name="tdm-reader")
        self._thread.start()

    def _run(self, make_iter: Callable[[], Iterator]) -> None:
        try:
            it = make_iter()
            try:
                for item in it:
                    if not self._put(item):
                        return
            finally:
                getattr(it, "close", lambda: None)()
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(_Failure(exc))

    def _put(self, item) -> bool:
        return put_while(self._queue, item, lambda: not self._stop.is_set())

    def __iter__(self) -> Iterator:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> "Prefetch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Behind:
    """Call `fn(*args)` in a thread for each `put(*args)`, in order, at most `maxsize`
    calls behind the caller: work (foreground estimation, handing frames to the writers)
    that overlaps the caller's next model batch. The thread's exception is raised in the
    caller, at a later `put` or on exit; an exit by exception drops what still waits.
    """

    def __init__(self, fn: Callable[..., None], maxsize: int = 1):
        self._fn = fn
        self._queue: queue.Queue = queue.Queue(maxsize)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="tdm-behind")
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) not in (_END, _ABORT):
            try:
                self._fn(*item)
            except BaseException as exc:  # raised again in the caller's thread
                self.error = exc
                return

    def put(self, *args) -> None:
        if not put_while(self._queue, args, self._thread.is_alive):
            raise self.error or RuntimeError("pipeline stage stopped")

    def __enter__(self) -> "Behind":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        put_while(self._queue, _ABORT if exc_type else _END, self._thread.is_alive)
        self._thread.join()
        if exc_type is None and self.error is not None:
            raise self.error


class _WriterThread(threading.Thread):
    """Owns one VideoWriter; an abort (or any error) leaves no output file behind. After
    its last frame it waits for `Sink` to say whether every output succeeded, so that one
    output failing late leaves none of the others."""

    def __init__(self, spec: OutputSpec, open_writer: Callable[[OutputSpec], object], maxsize: int):
        super().__init__(daemon=True, name=f"tdm-writer-{spec.path.name}")
        self.spec = spec
        self.queue: queue.Queue = queue.Queue(maxsize)
        self.error: BaseException | None = None
        self._open_writer = open_writer
        self.drained = threading.Event()  # it took _END (or ended)
        self.decided = threading.Event()  # Sink has set `commit`: finish the file, or drop it
        self.commit = False

    def run(self) -> None:
        try:
            with self._open_writer(self.spec) as writer:
                while True:
                    item = self.queue.get()
                    if item is _END:  # every frame is written: finish only if every writer can
                        self.drained.set()
                        self.decided.wait()
                        if not self.commit:
                            raise _Aborted()
                        return
                    if item is _ABORT:
                        raise _Aborted()
                    if isinstance(item, Segment):
                        writer.write_segment(item)
                        continue
                    frame, alpha, foreground = item
                    writer.write(frame, dequantize(alpha), foreground)
        except _Aborted:
            pass
        except BaseException as exc:  # raised again in the producer's thread
            self.error = exc
        finally:
            self.drained.set()

    def send(self, item) -> bool:
        """Queue `item`; False when the thread has already ended."""
        return put_while(self.queue, item, self.is_alive)

    def put(self, item) -> None:
        if not self.send(item):
            raise self.error or RuntimeError(f"{self.spec.path}: writer stopped")


class _Aborted(Exception):
    pass


class Sink:
    """One writer thread per output; `put(frame, alphas, foregrounds)` gives alphas[p] and
    foregrounds[p] (F, if estimated already) to prompt p's outputs, except those at the
    positions `segmented`, which take encoded segments (`put_segment`) instead.

    Use as a context manager: a clean exit finishes every file, an exception aborts them all.
    """

    def __init__(self, specs: list[OutputSpec], open_writer: Callable[[OutputSpec], object],
                 maxsize: int = 8, segmented: Iterable[int] = ()):
        self._threads = [_WriterThread(s, open_writer, maxsize) for s in specs]
        self._framed = [t for i, t in enumerate(self._threads) if i not in set(segmented)]
        for t in self._threads:
            t.start()

    def put(self, frame, alphas: np.ndarray, foregrounds: dict[int, np.ndarray] | None = None) -> None:
        """alphas (P,H,W) uint16; foregrounds {prompt: F (H,W,3) uint8} for colour outputs."""
        for t in self._framed:
            p = t.spec.prompt_index
            t.put((frame, alphas[p], (foregrounds or {}).get(p)))

    def put_segment(self, position: int, segment: Segment) -> None:
        """The next segment of the output at `position` (one of the `segmented`)."""
        self._threads[position].put(segment)

    def put_batch(self, frames: list, alphas: np.ndarray,
                  foregrounds: dict[int, np.ndarray] | None = None) -> None:
        """A batch: alphas (P,N,H,W), foregrounds {prompt: (N,H,W,3)}; frame i gets [:, i]."""
        for i, frame in enumerate(frames):
            self.put(frame, alphas[:, i], {p: f[i] for p, f in (foregrounds or {}).items()})

    def __enter__(self) -> "Sink":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for t in self._threads:
            t.send(_ABORT if exc_type else _END)
        for t in self._threads:  # every writer has written all it was given, or failed:
            t.drained.wait()     # the files are finished only if none failed
        commit = exc_type is None and all(t.error is None for t in self._threads)
        for t in self._threads:
            t.commit = commit
            t.decided.set()
        for t in self._threads:
            t.join()
        if exc_type is None:
            errors = [t.error for t in self._threads if t.error is not None]
            if errors:
                raise errors[0]
