"""Seconds per optimiser step of one training stage, on random inputs (no data loading).

    python benchmarks/bench_train_step.py --preset demo --stage semantic --side 128 256 --json
    python benchmarks/bench_train_step.py --widths 64 128 256 256 --side 128 256   # the old demo U-Nets

Builds the preset's pipeline with a teacher (``--widths`` replaces the U-Net widths),
the stage as ``tdm-train`` builds it (the semantic stage with its encoders training),
and times ``--steps`` steps of forward, backward and AdamW after ``--warmup`` untimed
ones at each side. Prints one JSON line: the median seconds a step per side.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

import torch

from tdm.build import build_pipeline
from tdm.config import get_preset
from tdm.train.stages import STAGES
from tdm.train.stages.semantic import SemanticStage


def step_seconds(stage: torch.nn.Module, side: int, batch: int, steps: int, warmup: int) -> float:
    """Median wall seconds of one optimiser step on a random batch at ``side`` px."""
    params = [p for m in stage.trainable.values() for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    g = torch.Generator().manual_seed(0)
    inputs = {"image": torch.rand(batch, 3, side, side, generator=g) * 2 - 1,
              "alpha": (torch.rand(batch, 1, side, side, generator=g) > 0.7).float(),
              "text": ["the left zebra"] * batch}
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        stage.forward(inputs)["loss"].backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--widths", type=int, nargs="+", help="U-Net block_out_channels instead of the preset's")
    ap.add_argument("--stage", default="semantic", choices=("semantic", "transparency"))
    ap.add_argument("--side", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    preset = get_preset(args.preset)
    if args.widths:
        preset = replace(preset, block_out_channels=tuple(args.widths))
    pipe = build_pipeline(preset, with_teacher=True)
    stage = (SemanticStage(pipe, train_encoders=True, balance_classes=True) if args.stage == "semantic"
             else STAGES[args.stage](pipe, preset=preset))
    result = {"preset": args.preset, "widths": list(preset.block_out_channels), "stage": args.stage,
              "batch": args.batch, "threads": torch.get_num_threads(),
              "teacher_params": sum(p.numel() for p in pipe.teacher_unet.parameters()),
              "seconds_per_step": {str(side): round(step_seconds(stage, side, args.batch, args.steps, args.warmup), 3)
                                   for side in args.side}}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
