"""Commit a run's state as the lineage's training state, shipped or not.

``python -m tdm.train.keep runs/r5-s0b training/demo`` replaces ``training/demo`` with
the run's pipeline in fp16 (teacher and semantic head included), its
``train_config.json`` and ``metrics.jsonl`` (``tdm.train.ship.keep``), so the next
round can ``--init`` it on a fresh clone, where ``runs/`` is gone.
"""
from __future__ import annotations

import argparse
import sys

from .ship import keep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdm.train.keep", description=__doc__.split("\n")[0])
    parser.add_argument("run", help="a finished tdm-train output folder")
    parser.add_argument("folder", help="the folder to replace (e.g. training/demo)")
    args = parser.parse_args(argv)
    try:
        keep(args.run, args.folder)
    except (OSError, ValueError) as error:
        print(f"python -m tdm.train.keep: error: {error}", file=sys.stderr)
        return 2
    print(f"kept {args.run} in {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
