"""The learning curve of a run and of the runs it started from: validation figures by step.

``python -m tdm.train.curve runs/r3-s3`` follows each run's ``--init`` back through its
``train_config.json`` and prints one markdown row per validation, oldest run first: the
run, its stage, the step within the run, the steps that stage has trained over the whole
chain, the number of validation scenes and the ``val_*`` figures of ``metrics.jsonl``.
``--json`` prints one JSON object per row instead. It reads files only (no model).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .config import CONFIG_NAME, TrainConfig
from .trainer import METRICS_NAME


@dataclass(frozen=True)
class Point:
    """One validation: ``stage_steps`` counts the stage's steps over the chain up to it."""

    run: str
    stage: str
    step: int
    stage_steps: int
    val_size: int
    figures: dict[str, float]


def _parent(folder: Path, init: str | None) -> Path | None:
    """The ``--init`` folder as recorded (relative to where the run started), else beside
    ``folder``; None when it is not there or holds no train_config.json."""
    if init is None:
        return None
    for candidate in (Path(init), folder.parent / Path(init).name):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
    return None


def shown(folder: Path) -> str:
    """``folder`` relative to the working directory when it lies below it."""
    try:
        return str(folder.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(folder)


def chain(folder: str | Path) -> list[Path]:
    """``folder`` and the run folders it started from, oldest first (a cycle stops it)."""
    runs: list[Path] = []
    current: Path | None = Path(folder)
    seen: set[Path] = set()
    while current is not None and current.resolve() not in seen:
        if not (current / CONFIG_NAME).is_file():
            raise FileNotFoundError(f"{current}: no {CONFIG_NAME}; not a tdm-train run folder")
        seen.add(current.resolve())
        runs.append(current)
        current = _parent(current, TrainConfig.load(current).init)
    return runs[::-1]


def logged_steps(folder: Path) -> dict[int, dict]:
    """metrics.jsonl by step, the last line of each step winning (a resumed run logs again
    the steps after its checkpoint)."""
    path = folder / METRICS_NAME
    if not path.is_file():
        return {}
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {row["step"]: row for row in rows}




def learning_curve(folder: str | Path) -> list[Point]:
    """Every validation of ``folder``'s chain, in training order."""
    points: list[Point] = []
    before: dict[str, int] = {}
    for run in chain(folder):
        config = TrainConfig.load(run)
        logged = logged_steps(run)
        offset = before.get(config.stage, 0)
        for step in sorted(logged):
            figures = {k[4:]: v for k, v in logged[step].items() if k.startswith("val_")}
            if figures:
                points.append(Point(shown(run), config.stage, step, offset + step,
                                    config.val_size, figures))
        before[config.stage] = offset + max(logged, default=0)  # a run logs its last step
    return points


def markdown(points: list[Point]) -> str:
    """A table with IoU and SAD first, then the other figures by name."""
    first = ("iou", "sad")
    names = sorted({k for p in points for k in p.figures},
                   key=lambda k: (first.index(k) if k in first else len(first), k))
    head = ["run", "stage", "step", "stage steps", "val scenes", *names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in points:
        cells = [p.run, p.stage, str(p.step), str(p.stage_steps), str(p.val_size)]
        cells += [f"{p.figures[n]:.4g}" if n in p.figures else "" for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdm.train.curve",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("run", help="a tdm-train output folder (its --init chain is followed)")
    parser.add_argument("--json", action="store_true", help="one JSON object per validation")
    args = parser.parse_args(argv)
    try:
        points = learning_curve(args.run)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"python -m tdm.train.curve: error: {error}", file=sys.stderr)
        return 2
    if args.json:
        for p in points:
            print(json.dumps(asdict(p)))
    else:
        print(markdown(points))
    return 0


if __name__ == "__main__":
    sys.exit(main())
