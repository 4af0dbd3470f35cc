"""One video to matte, resolved and checked before any frame is decoded, and its chunk plan."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import video
from video.compose import parse_color
from video.encoding import FOREGROUND_KINDS, choose_encoding
from video.writer import check_replaceable
from pipelines.errors import UsageError
from pipelines.options import (MatteOptions, OutputSpec, check_prompts, check_writable,
                               expand_outputs, frame_index)
from pipelines.safety import ReadSet

# A chunk holds about this many alpha bytes (uint16, all prompts) at most.
CHUNK_BYTES = 128 * 1024 ** 2
# One model batch's full-size alphas (float32, all prompts) take this many bytes at most.
BATCH_ALPHA_BYTES = 256 * 1024 ** 2
MAX_CHUNK_FRAMES = 256


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    stop: int


@dataclass
class VideoJob:
    """Input, prompts, outputs and frame range of one video; `frames` = stop - start."""

    input: str
    info: video.VideoInfo
    prompts: list[str]
    specs: list[OutputSpec]
    start: int
    stop: int
    options: MatteOptions

    @property
    def frames(self) -> int:
        return self.stop - self.start

    @property
    def batch_size(self) -> int:
        """Frames per model batch: ``--batch-size``, lowered for large frames x many prompts
        so that memory does not grow with them (BATCH_ALPHA_BYTES). It depends on the video
        and the options only, like the chunk plan, so every executor runs the same batches."""
        per_frame = self.info.width * self.info.height * 4 * len(self.prompts)
        return max(1, min(self.options.batch_size, BATCH_ALPHA_BYTES // per_frame))

    def foreground_prompts(self, positions: Iterable[int] | None = None) -> list[int]:
        """The prompts with an output (among those at `positions`, default all) that needs
        the foreground colour F (rgba, composite, foreground, preview): the executors
        estimate F for these only."""
        specs = self.specs if positions is None else [self.specs[i] for i in positions]
        return sorted({s.prompt_index for s in specs if s.kind in FOREGROUND_KINDS})

    def framed(self, segmented: Iterable[int]) -> list[int]:
        """The positions of the outputs written frame by frame when those at `segmented`
        are encoded in segments."""
        skip = set(segmented)
        return [i for i in range(len(self.specs)) if i not in skip]

    def segmented(self) -> list[int]:
        """The positions of the outputs encoded in segments, a chunk each (`video.segments`),
        by the executors: every video file (a PNG folder is written frame by frame)."""
        return [i for i, spec in enumerate(self.specs) if choose_encoding(spec.path, spec.kind).fmt is not None]

    def outputs_exist(self) -> bool:
        return all(s.path.exists() for s in self.specs)

    def chunks(self) -> list[Chunk]:
        """Chunk plan from the video and the options only (never from the worker count).

        Chunk length is a multiple of the batch size, so every executor runs the model
        on the very same batches and writes identical output.
        """
        size = self.options.chunk_frames or default_chunk_frames(self)
        batch = self.batch_size
        size = max(batch, size // batch * batch)
        return [Chunk(i, s, min(s + size, self.stop))
                for i, s in enumerate(range(self.start, self.stop, size))]

    def open_writer(self, spec: OutputSpec):
        """The VideoWriter for one output (a context manager; atomic on success)."""
        opts = self.options
        return video.VideoWriter(spec.path, kind=spec.kind, like=self.info,
                                 background=opts.background, audio=opts.audio)


def default_chunk_frames(job: VideoJob) -> int:
    per_frame = job.info.width * job.info.height * 2 * len(job.prompts)
    return max(1, min(MAX_CHUNK_FRAMES, CHUNK_BYTES // per_frame))


def prepare_job(input: str, prompts: str | list[str], outputs: str | list[str],
                opts: MatteOptions, reads: ReadSet | None = None) -> VideoJob:
    """Check prompts, probe the input, resolve the frame range and output paths.

    ``reads``: every file the run reads (a batch passes all its inputs); by default this
    video's input, background and model. No output may touch one of them.
    Raises UsageError or video.VideoError with one line; nothing is written.
    """
    prompts = check_prompts(prompts)
    outputs = [outputs] if isinstance(outputs, (str, Path)) else list(outputs or [])
    if not outputs:
        raise UsageError("no output given (use -o PATH)")
    specs = expand_outputs([str(o) for o in outputs], prompts, opts, stem=Path(input).stem)
    if opts.background is not None and not Path(opts.background).exists():
        parse_color(opts.background)
    reads = reads or ReadSet.of_run([input], opts)
    for spec in specs:
        encoding = choose_encoding(spec.path, spec.kind)
        reads.check_output(spec.path)
        check_writable(spec)
        check_replaceable(spec.path, folder=encoding.fmt is None)
    info = video.probe(input)
    fps = float(info.fps)
    start = frame_index("--start", opts.start, fps)
    stop = info.num_frames if opts.end is None else min(frame_index("--end", opts.end, fps),
                                                        info.num_frames)
    if start >= stop:
        raise UsageError(f"{input}: empty frame range {start}:{stop} "
                         f"(the video has {info.num_frames} frames)")
    return VideoJob(str(input), info, prompts, specs, start, stop, opts)
