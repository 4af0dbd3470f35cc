"""The shell of every console script (`tdm-video`, `tdm-train`, `tdm-eval`,
`python -m pipelines.grounding`): one argparse class, and one rule that turns what a
command raised into one line on stderr and an exit status:

    0    done
    1    the run failed: an unexpected error, shown as its first line with a pointer to
         `--debug` (which re-raises it, traceback and all); or a batch with failed videos
    2    bad usage: an option, input, output or model the user must change (`UsageError`,
         `video.VideoError`, and the types a command adds); the line says what is wrong
    130  Ctrl-C;  143  SIGTERM, handled like Ctrl-C (`pipelines.signals`)
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from pipelines.errors import UsageError, one_line
from pipelines.signals import sigterm_as_interrupt, stop_status

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    """argparse with `--debug`; a bad command line raises UsageError (one line, no usage dump)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true", help="show tracebacks")

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


def is_usage_error(exc: BaseException, more: tuple[type[BaseException], ...] = ()) -> bool:
    """A UsageError, a `video.VideoError` or one of `more`. VideoError is looked up only once
    `video` is imported (none can exist before), so option errors never load PyAV."""
    errors = sys.modules.get("video.errors")
    return isinstance(exc, (UsageError, *more)) or (
        errors is not None and isinstance(exc, errors.VideoError))


def run_command(prog: str, parser: argparse.ArgumentParser,
                command: Callable[[argparse.Namespace], int], argv: Sequence[str] | None = None,
                *, usage: tuple[type[BaseException], ...] = (),
                uses_ray: Callable[[argparse.Namespace], bool] = lambda args: False,
                after_stop: Callable[[argparse.Namespace], str] = lambda args: "") -> int:
    """Parse `argv` (default: `sys.argv[1:]`) and return `command(args)`, its exit status;
    whatever it raises becomes one line `PROG: error: ...` and the status of the module doc.

    `usage`: more exception types that mean bad input. `uses_ray(args)`: the command may
    start Ray (see `sigterm_as_interrupt`). `after_stop(args)`: appended to the
    'interrupted' / 'terminated' line (e.g. how to continue).
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    debug = "--debug" in argv  # also for an error in parsing
    args = None
    try:
        args = parser.parse_args(argv)
        with sigterm_as_interrupt(ray=uses_ray(args)):
            return command(args)
    except KeyboardInterrupt as exc:
        word, status = stop_status(exc)
        print(f"{prog}: {word}{after_stop(args) if args is not None else ''}", file=sys.stderr)
        return status
    except Exception as exc:
        if debug:
            raise
        if is_usage_error(exc, usage):
            print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
            return EXIT_USAGE
        print(f"{prog}: error: {one_line(exc)} (run with --debug for details)", file=sys.stderr)
        return EXIT_FAILED
