"""Many videos in one run: from several inputs, a glob, a folder of videos or a JSONL manifest.

A video that fails is reported with its reason and the others go on; outputs are
atomic, so `skip_existing` resumes a run that stopped. On Ray several videos run at
once (`distributed.RayScheduler`); the summary lists them in batch order all the same.
"""
from __future__ import annotations

import glob
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from media import is_video_file
from pipelines.engine import Engine, skipped
from pipelines.job import VideoJob, prepare_job
from pipelines.errors import UsageError, one_line
from pipelines.options import MatteOptions, resolve
from pipelines.safety import ReadSet

BATCH_DEFAULT_NAME = "{stem}.mov"


@dataclass
class BatchItem:
    input: str
    prompts: list[str]
    outputs: list[str]


def is_batch(inputs: list[str]) -> bool:
    """More than one input, a manifest, a glob pattern, or a folder holding videos."""
    if len(inputs) != 1:
        return True
    one = inputs[0]
    return one.endswith(".jsonl") or _is_pattern(one) or bool(_folder_videos(one))


def _is_pattern(text: str) -> bool:
    return any(c in text for c in "*?[") and not Path(text).exists()


def _folder_videos(path: str) -> list[str]:
    p = Path(path)
    if not p.is_dir():
        return []
    return sorted(str(f) for f in p.iterdir() if is_video_file(f))


def collect(inputs: list[str], prompts: list[str], outputs: list[str],
            allow_outside_output: bool = False) -> list[BatchItem]:
    """Expand every input into items. Command-line outputs are templates with `{stem}`
    (a folder alone means FOLDER/{stem}.mov); with several prompts `{prompt}` or the
    automatic .<prompt-slug> suffix applies per item as for one video.

    A manifest's own outputs are resolved inside the output root (the folder of `-o`, or
    the manifest's folder without one) and may not leave it unless `allow_outside_output`.
    """
    templates = [_template(o) for o in outputs]
    items: list[BatchItem] = []
    from_command_line = 0
    for arg in inputs:
        if arg.endswith(".jsonl"):
            root = Path(templates[0]).parent if len(templates) == 1 else Path(arg).parent
            items.extend(read_manifest(arg, prompts, templates, root, allow_outside_output))
            continue
        paths = _folder_videos(arg) or (sorted(glob.glob(arg)) if _is_pattern(arg) else [arg])
        if not paths:
            raise UsageError(f"{arg}: matches no file")
        items.extend(BatchItem(p, prompts, templates) for p in paths)
        from_command_line += len(paths)
    if any(not it.outputs for it in items):
        raise UsageError("no output given (use -o FOLDER or -o 'FOLDER/{stem}.webm')")
    if from_command_line > 1 and any("{stem}" not in t for t in templates):
        raise UsageError("several inputs need -o FOLDER or an output name with {stem}")
    return items


def _template(output: str) -> str:
    if output.endswith(("/", "\\")) or (Path(output).is_dir() and not Path(output).suffix):
        return str(Path(output) / BATCH_DEFAULT_NAME)
    return output


def read_manifest(path: str, prompts: list[str], templates: list[str], root: Path,
                  allow_outside_output: bool = False) -> list[BatchItem]:
    """JSONL lines {"input", "prompt" or "prompts", "output" (str or list)}. Inputs are
    relative to the manifest's folder, outputs to ``root`` and must stay inside it
    (unless ``allow_outside_output``); a missing prompt or output falls back to the
    command line's."""
    base = Path(path).parent
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read manifest ({getattr(exc, 'strerror', None) or exc})"
                         ) from None
    items = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise UsageError(f"{where}: not valid JSON") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("input"), str):
            raise UsageError(f'{where}: expected a JSON object with "input" (a path)')
        entry_prompts = _strings(entry.get("prompts", entry.get("prompt", prompts)), where, "prompt")
        if "output" in entry:
            entry_outputs = [_inside(root, o, where, allow_outside_output)
                             for o in _strings(entry["output"], where, "output")]
        else:
            entry_outputs = list(templates)
        items.append(BatchItem(str(base / entry["input"]), entry_prompts, entry_outputs))
    return items


def _strings(value: object, where: str, name: str) -> list[str]:
    """A string or a list of strings, else a UsageError naming the line."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise UsageError(f'{where}: "{name}" must be a string or a list of strings, got {value!r}')
    return values


def _inside(root: Path, output: str, where: str, allow_outside: bool) -> str:
    """``output`` joined to ``root``; refused if it resolves outside ``root``."""
    path = root / output
    if not allow_outside and not resolve(path).is_relative_to(resolve(root)):
        raise UsageError(f"{where}: output {output!r} is outside the output folder {root} "
                         "(pass --allow-outside-output to permit it)")
    return str(path)


def run_batch(items: list[BatchItem], opts: MatteOptions,
              log: Callable[[str], None] = lambda line: None) -> dict:
    """Matte every item with one loaded model; a failure costs only its own video.

    `seconds` and `fps` of the batch are its wall time (model loading excluded) and
    total frames over it; each video's own are its time from start to finish, which
    overlap on Ray.
    """
    report = BatchReport(items, opts, log)
    with Engine(opts, log) as engine:
        started = time.perf_counter()
        for index, outcome in engine.run_all(report.jobs(opts)):
            report.ended(index, outcome)
        return report.summary(time.perf_counter() - started, engine.totals())


class BatchReport:
    """Each item's outcome (summary, skip or failure), kept in batch order, logged as it comes."""

    def __init__(self, items: list[BatchItem], opts: MatteOptions, log: Callable[[str], None]):
        self.items = items
        self.log = log
        self.reads = ReadSet.of_run([item.input for item in items], opts)
        self.results: list[dict | None] = [None] * len(items)
        self.failures: list[dict | None] = [None] * len(items)
        self.claimed: dict[Path, str] = {}  # output path -> the input that writes it

    def jobs(self, opts: MatteOptions) -> Iterator[tuple[int, VideoJob]]:
        """(index, job) of each item to matte, prepared when the engine asks for it;
        items that fail to prepare or are skipped are recorded here instead."""
        for index, item in enumerate(self.items):
            try:
                job = prepare_job(item.input, item.prompts, item.outputs, opts, self.reads)
                self.claim(job)
            except Exception as exc:  # reported per video; the batch goes on
                self.ended(index, exc)
                continue
            if opts.skip_existing and job.outputs_exist():
                self.ended(index, skipped(job))
            else:
                yield index, job

    def claim(self, job: VideoJob) -> None:
        """Reserve the job's output paths; one already written by an earlier item of the
        batch is a UsageError (two videos would race for, or overwrite, the same file)."""
        paths = [resolve(spec.path) for spec in job.specs]
        for path in paths:
            if path in self.claimed:
                raise UsageError(f"{path} is also the output of {self.claimed[path]} in this batch")
        self.claimed.update((path, job.input) for path in paths)

    def ended(self, index: int, outcome: dict | Exception) -> None:
        item = self.items[index]
        if isinstance(outcome, Exception):
            self.failures[index] = {"input": item.input, "error": one_line(outcome)}
            self.log(f"failed: {item.input}: {one_line(outcome)}")
        else:
            self.results[index] = outcome
            self.log(("skipped: " if outcome.get("skipped") else "done: ") + item.input)

    def summary(self, seconds: float, totals: dict) -> dict:
        results = [r for r in self.results if r is not None]
        frames = sum(r["frames"] for r in results)
        if totals:  # Ray: retried chunks are summed over videos, lost actors the pool's
            totals = {**totals, "chunks_retried": sum(r.get("chunks_retried", 0) for r in results)}
        return {
            "frames": frames, "seconds": round(seconds, 3),
            "fps": round(frames / seconds, 3) if seconds > 0 else 0.0,
            "outputs": [o for r in results if not r.get("skipped") for o in r["outputs"]],
            "succeeded": [r["input"] for r in results if not r.get("skipped")],
            "skipped": [r["input"] for r in results if r.get("skipped")],
            "failed": [f for f in self.failures if f is not None],
            "videos": results,
            **totals,
        }
