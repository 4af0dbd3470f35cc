"""`tdm-video`: matte one video, several outputs, several prompts, or a whole batch."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from typing import Iterator

from tqdm import tqdm

from pipelines.console import EXIT_FAILED, Parser, run_command
from pipelines.options import DEVICES, DTYPES, OUTPUT_TYPES, MatteOptions
from pipelines.progress import describe

PROG = "tdm-video"


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description="Text-prompted video matting. See docs/CLI.md.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="video file, image folder, folder of videos, glob, or manifest .jsonl")
    p.add_argument("--prompt", "-p", action="append", default=[],
                   help="what to matte; repeat for one output per prompt")
    p.add_argument("--output", "-o", action="append", default=[],
                   help="output file (.mov/.webm/.mkv/.mp4) or PNG folder; repeat for several "
                        "outputs in one pass; batch: FOLDER or a name with {stem}")
    p.add_argument("--output-type", action="append", choices=OUTPUT_TYPES,
                   help="once for all outputs or once per -o (default: from the extension)")
    p.add_argument("--background", help="colour (name or #rrggbb), image or video for composites")
    p.add_argument("--model", help="pipeline folder or hub id (default: the shipped demo)")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--dtype", default="fp32", choices=DTYPES)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--resolution", type=int, help="processing long side (multiple of 64)")
    p.add_argument("--square", action="store_true",
                   help="process at --resolution x --resolution like the paper (default: keep "
                        "the aspect ratio, pad to 64)")
    p.add_argument("--no-stabilise", action="store_true",
                   help="matte every frame alone (default: the temporal stabiliser blends each "
                        "matte with the previous one along optical flow, reset at scene cuts)")
    p.add_argument("--start", default="0", help="first frame index, or seconds as 2.5s")
    p.add_argument("--end", help="frame index to stop before, or seconds as 10s")
    p.add_argument("--no-audio", action="store_true", help="do not copy the audio track")
    p.add_argument("--ray-address", help="run on Ray: local, auto, or HOST:PORT")
    p.add_argument("--num-workers", type=int, help="Ray actors (default: one per GPU)")
    p.add_argument("--chunk-frames", type=int,
                   help="frames per chunk, a Ray task and a piece of each video output (default: by size)")
    p.add_argument("--threads", type=int,
                   help="torch CPU threads (default: one fewer than the cores, leaving one to "
                        "reading and writing; per Ray actor with --ray-address: the cores / actors)")
    p.add_argument("--encode-threads", type=int,
                   help="chunks of the video outputs encoded at once, locally (default: one per "
                        "two cores, at most 4; 1: frame by frame)")
    p.add_argument("--skip-existing", action="store_true", help="skip videos whose outputs exist")
    p.add_argument("--allow-outside-output", action="store_true",
                   help="let a manifest write outside the output folder (absolute or ../ paths)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    return p


def options_from(args: argparse.Namespace) -> MatteOptions:
    opts = MatteOptions(
        output_type=args.output_type, background=args.background, model=args.model,
        device=args.device, dtype=args.dtype, batch_size=args.batch_size,
        resolution=args.resolution, square=args.square, stabilise=not args.no_stabilise,
        start=args.start, end=args.end,
        audio=not args.no_audio,
        ray_address=args.ray_address, num_workers=args.num_workers,
        chunk_frames=args.chunk_frames, threads=args.threads,
        encode_threads=args.encode_threads, skip_existing=args.skip_existing, quiet=args.quiet)
    opts.check()
    return opts


@contextlib.contextmanager
def one_line_warnings() -> Iterator[None]:
    """Warnings (frames lost in a damaged file, ...) as one line each on stderr, written
    through tqdm so that open progress bars stay intact."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        tqdm.write(f"{PROG}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def video_main(argv: list[str] | None = None) -> int:
    """Entry point of `tdm-video`; returns the exit status (`pipelines.console`; on SIGTERM
    or Ctrl-C the outputs in progress are dropped)."""
    return run_command(PROG, build_parser(), _run, argv,
                       uses_ray=lambda args: args.ray_address is not None)


def _run(args: argparse.Namespace) -> int:
    opts = options_from(args)
    with one_line_warnings():
        return _run_checked(args, opts)


def _run_checked(args: argparse.Namespace, opts: MatteOptions) -> int:
    # torch, PyAV and Ray load only past the option checks
    from pipelines.batch import collect, is_batch, run_batch
    from pipelines.engine import run_one

    def log(line: str) -> None:
        if not opts.quiet:  # tqdm.write keeps the open videos' progress bars intact
            tqdm.write(f"{PROG}: {line}", file=sys.stderr)

    if is_batch(args.inputs):
        result = run_batch(collect(args.inputs, args.prompt, args.output, args.allow_outside_output),
                           opts, log)
        log(f"{len(result['succeeded'])} succeeded, {len(result['skipped'])} skipped, "
            f"{len(result['failed'])} failed")
        for failure in result["failed"]:
            log(f"  failed {failure['input']}: {failure['error']}")
        status = EXIT_FAILED if result["failed"] else 0
    else:
        result = run_one(args.inputs[0], args.prompt, args.output, opts, log)
        log(describe(result))
        status = 0
    if args.json:
        print(json.dumps(result), flush=True)
    return status
