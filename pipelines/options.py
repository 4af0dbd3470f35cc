"""Options of one matting run, checked up front, and the output naming scheme."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable

from pipelines.errors import UsageError

OUTPUT_TYPES = ("alpha", "rgba", "composite", "foreground", "preview")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}  # name -> torch dtype's name
# Containers that carry alpha get an RGBA file; the others a grey matte.
TYPE_FROM_SUFFIX = {".mov": "rgba", ".webm": "rgba", ".mkv": "rgba", "": "rgba",
                    ".mp4": "alpha", ".m4v": "alpha"}


def resolve(path: str | os.PathLike) -> Path:
    """``Path.resolve()``, with a symlink loop as a one-line UsageError."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop
        raise UsageError(f"{path}: symbolic link loop") from None


@dataclass(frozen=True)
class OutputSpec:
    """One file (or PNG folder) to write: which prompt and what kind of picture."""

    path: Path
    kind: str
    prompt_index: int


@dataclass
class MatteOptions:
    """Everything `tdm-video` and `pipelines.matte_video` accept besides input/prompt/output.

    `start`/`end` are frame indices (end exclusive) or seconds written as "2.5s".
    `output_type` is one type for every output or one per output, in order.
    `model` is a folder, a hub id, or an already loaded `tdm.TDMPipeline` (local only).
    `square` processes frames at `resolution` x `resolution` like the paper (default: keep
    the aspect ratio, pad to 64).
    `stabilise` runs the temporal stabiliser on the mattes (`pipelines.temporal`).
    `progress` is called with the number of frames written so far. `threads` sets torch's
    CPU threads (local process, default one fewer than the cores, or each Ray actor, default
    the cores / actors): CPU results are bit-identical across
    executors only at the same thread count. `encode_threads`: how many chunks of the
    video outputs a local run encodes at once (default: one per two cores, at most 4);
    from 2 on, the files do not depend on it (the same bytes as a Ray run's).
    """

    output_type: str | list[str] | None = None
    background: str | None = None
    model: object = None
    device: str = "auto"
    dtype: str = "fp32"
    batch_size: int = 4
    resolution: int | None = None
    square: bool = False
    stabilise: bool = True
    start: int | str = 0
    end: int | str | None = None
    audio: bool = True
    ray_address: str | None = None
    num_workers: int | None = None
    chunk_frames: int | None = None
    threads: int | None = None
    encode_threads: int | None = None
    skip_existing: bool = False
    quiet: bool = False
    progress: Callable[[int], None] | None = field(default=None, repr=False)

    @classmethod
    def from_kwargs(cls, **kwargs) -> "MatteOptions":
        """Build from keyword options, refusing unknown names with a clear message."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise UsageError(f"unknown option(s): {', '.join(unknown)}")
        opts = cls(**kwargs)
        opts.check()
        return opts

    def check(self) -> None:
        """Refuse bad values before any work starts."""
        choose("--device", self.device, DEVICES)
        choose("--dtype", self.dtype, DTYPES)
        for t in self.output_types():
            choose("--output-type", t, OUTPUT_TYPES)
        positive("--batch-size", self.batch_size)
        if self.resolution is not None:
            check_resolution(self.resolution)
        if self.num_workers is not None:
            positive("--num-workers", self.num_workers)
        if self.chunk_frames is not None:
            positive("--chunk-frames", self.chunk_frames)
        if self.threads is not None:
            positive("--threads", self.threads)
        if self.encode_threads is not None:
            positive("--encode-threads", self.encode_threads)
        parse_position("--start", self.start)
        if self.end is not None:
            parse_position("--end", self.end)

    def output_types(self) -> list[str]:
        t = self.output_type
        return [] if t is None else [t] if isinstance(t, str) else list(t)


def choose(name: str, value: str, allowed: Iterable[str]) -> str:
    if value not in allowed:
        raise UsageError(f"{name}: invalid value {value!r} (choose from {', '.join(allowed)})")
    return value


MAX_RESOLUTION = 2048  # the student's processing side; the sparse upsampler goes beyond


def check_resolution(value: int) -> int:
    """A processing side the model can run: a multiple of 64 from 64 to MAX_RESOLUTION."""
    positive("--resolution", value)
    if value % 64 or value > MAX_RESOLUTION:
        raise UsageError(f"--resolution: must be a multiple of 64 from 64 to {MAX_RESOLUTION}, "
                         f"got {value} (the sparse upsampler takes the matte to the frame's size)")
    return value


def positive(name: str, value: int) -> int:
    if not isinstance(value, int) or value < 1:
        raise UsageError(f"{name}: must be a positive integer, got {value!r}")
    return value


def parse_position(name: str, value: int | str) -> tuple[float, bool]:
    """'12' -> (12, False) frame index; '2.5s' -> (2.5, True) seconds."""
    text = str(value).strip()
    try:
        if text.endswith("s"):
            number, seconds = float(text[:-1]), True
        else:
            number, seconds = int(text), False
    except ValueError:
        raise UsageError(f"{name}: expected a frame index (e.g. 120) or seconds (e.g. 4.5s), "
                         f"got {value!r}") from None
    if number < 0:
        raise UsageError(f"{name}: must not be negative, got {value!r}")
    return number, seconds


def frame_index(name: str, value: int | str, fps: float) -> int:
    """A --start/--end value as a frame index (seconds use the average frame rate)."""
    number, seconds = parse_position(name, value)
    return int(round(number * fps)) if seconds else int(number)


def check_prompts(prompts: str | list[str]) -> list[str]:
    """One or more non-empty prompts, whitespace-trimmed."""
    items = [prompts] if isinstance(prompts, str) else list(prompts or [])
    if not items:
        raise UsageError("no prompt given (use --prompt TEXT)")
    cleaned = [" ".join(str(p).split()) for p in items]
    if not all(cleaned):
        raise UsageError("empty prompt: say which object to matte, e.g. --prompt 'the dog'")
    return cleaned


def slug(text: str, limit: int = 40) -> str:
    """'The left zebra!' -> 'the-left-zebra'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-") or "prompt"


def prompt_slugs(prompts: list[str]) -> list[str]:
    """Unique slugs, numbered from -2 when two prompts slug alike."""
    seen: dict[str, int] = {}
    out = []
    for p in prompts:
        s = slug(p)
        seen[s] = seen.get(s, 0) + 1
        out.append(s if seen[s] == 1 else f"{s}-{seen[s]}")
    return out


def expand_outputs(outputs: list[str], prompts: list[str], opts: MatteOptions,
                   stem: str = "") -> list[OutputSpec]:
    """Every file to write: each output x each prompt.

    With one prompt an output path is used as given. With several, `{prompt}` in the
    path is replaced by the prompt's slug, or else the slug goes before the extension:
    out.webm -> out.the-dog.webm, and a PNG folder gets it as a suffix: frames ->
    frames-the-dog. `{stem}` is replaced by the input's file stem.
    """
    types = opts.output_types()
    if len(types) not in (0, 1, len(outputs)):
        raise UsageError(f"--output-type given {len(types)} times for {len(outputs)} outputs "
                         "(give it once, or once per -o)")
    slugs = prompt_slugs(prompts)
    specs = []
    for i, out in enumerate(outputs):
        kind = types[i] if len(types) > 1 else types[0] if types else kind_from_path(out)
        for p, s in enumerate(slugs):
            specs.append(OutputSpec(name_output(out, s, len(prompts) > 1, stem), kind, p))
    first: dict[Path, OutputSpec] = {}
    for spec in specs:
        other = first.setdefault(resolve(spec.path), spec)
        if other is spec:
            continue
        if other.prompt_index == spec.prompt_index:
            raise UsageError(f"{spec.path}: given twice as an output")
        raise UsageError(f"{spec.path}: would be written for prompt {prompts[other.prompt_index]!r} "
                         f"and for prompt {prompts[spec.prompt_index]!r} (reword one of them)")
    return specs


def name_output(out: str, prompt_slug: str, several: bool, stem: str) -> Path:
    text = str(out).replace("{stem}", stem)
    if "{prompt}" in text:
        return Path(text.replace("{prompt}", prompt_slug))
    path = Path(text)
    if not several:
        return path
    return path.with_name(f"{path.stem}.{prompt_slug}{path.suffix}") if path.suffix \
        else path.with_name(f"{path.name}-{prompt_slug}")


def kind_from_path(out: str | os.PathLike) -> str:
    suffix = Path(out).suffix.lower()
    if suffix not in TYPE_FROM_SUFFIX:
        raise UsageError(f"{out}: unknown output extension {suffix!r} (use .mov, .webm, .mkv, "
                         ".mp4, or a folder for PNG frames)")
    return TYPE_FROM_SUFFIX[suffix]


def check_writable(spec: OutputSpec) -> None:
    """The output's folder must exist and be writable (what may be replaced there is
    `video.writer.check_replaceable`'s rule)."""
    parent = spec.path.parent if str(spec.path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{spec.path}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{spec.path}: output folder {parent} is not writable")
