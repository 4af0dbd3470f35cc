"""SIGTERM handled like Ctrl-C while a command runs: it raises `Terminated` (a
KeyboardInterrupt) in the main thread, so writers abort and remove their temporary files,
checkpoints stay whole, and the command ends with one line and status 143."""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (handled wherever Ctrl-C is)."""


def _raise_terminated(signum, frame) -> None:
    global _received
    _received = True
    raise Terminated()


_active = 0  # nesting depth of sigterm_as_interrupt in the main thread
_received = False  # SIGTERM came (libraries such as Ray re-raise a plain KeyboardInterrupt)


@contextlib.contextmanager
def sigterm_as_interrupt(ray: bool = False) -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated`; the previous handler comes back after.
    Outside the main thread (where Python cannot set handlers) it does nothing.

    ray=True: the block may start Ray, whose `ray.init` installs its own SIGTERM handlers
    (a Python `sys.exit` and a C++ one that dumps a stack and aborts, leaving temporary
    files behind); ours is installed again right after each `ray.init`.
    """
    global _active, _received
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received = False
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    hooks = _ray_post_init_hooks() if ray else None
    if hooks is not None:
        hooks.append(reclaim_sigterm)
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if hooks is not None and reclaim_sigterm in hooks:
            hooks.remove(reclaim_sigterm)
        signal.signal(signal.SIGTERM, previous)


def reclaim_sigterm() -> None:
    """Install our SIGTERM handler again (inside `sigterm_as_interrupt`, main thread)."""
    if _active and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def _ray_post_init_hooks() -> list | None:
    """The functions Ray calls after each successful `ray.init` (a private list of
    ray._private.worker; None where it is missing)."""
    try:
        from ray._private import worker
    except ImportError:
        return None
    hooks = getattr(worker, "_post_init_hooks", None)
    return hooks if isinstance(hooks, list) else None


def stop_status(exc: KeyboardInterrupt) -> tuple[str, int]:
    """('terminated', 143) for SIGTERM, ('interrupted', 130) for Ctrl-C."""
    if isinstance(exc, Terminated) or _received:
        return "terminated", EXIT_TERMINATED
    return "interrupted", EXIT_INTERRUPTED
