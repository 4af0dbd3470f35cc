"""``tdm-train``: one training stage, in this process or under Ray Train.

The trainer itself is ``tdm.train`` (pure torch). This module parses the command line,
opens the data with ``video`` reading video files (``pipelines.datasets``), and with
``--num-workers`` runs the same trainer on every worker of a Ray Train ``TorchTrainer``
(DDP: gloo on CPU, nccl with ``--use-gpu``).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from pipelines.console import Parser, run_command
from pipelines.datasets import open_dataset_with_video
from pipelines.errors import one_line
from pipelines.model_loading import quiet_loading
from pipelines.options import resolve
from tdm.config import PRESET_NAMES
from tdm.train import TrainConfig, train
from tdm.train.sampling import micro_batch_size
from tdm.train.setup import held_out_source, open_data, open_held_out
from tdm.train.optimizer import PAPER_HYPER


class TrainingFailed(RuntimeError):
    """A Ray Train run ended with a worker error (the message is its last line)."""


def positive(convert: Callable[[str], float], noun: str) -> Callable[[str], float]:
    """argparse type: ``convert(text)``, which must be above 0."""
    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {noun}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value
    return parse


positive_int = positive(int, "integer")
positive_float = positive(float, "number")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="tdm-train", description="Train one stage of the tdm model.")
    p.add_argument("--preset", required=True, choices=PRESET_NAMES)
    p.add_argument("--stage", required=True, choices=tuple(PAPER_HYPER))
    p.add_argument("--data", required=True, help="dataset SPEC (see docs/TRAINING.md)")
    p.add_argument("--output", required=True, help="run folder: metrics, checkpoint, pipeline")
    p.add_argument("--max-steps", type=positive_int, help="optimiser steps (the schedule's total)")
    p.add_argument("--max-minutes", type=positive_float,
                   help="training-time budget: the run ends when it is spent, and the lr "
                        "schedule follows whichever of steps and time is further along")
    p.add_argument("--init", help="previous stage's output folder")
    p.add_argument("--pretrained", help="SD-1.5 diffusers folder or hub id (stage 1, no --init)")
    p.add_argument("--train-encoders", action=argparse.BooleanOptionalAction,
                   help="train the VAE encoder and text encoder in the semantic stage "
                        "(default: when they are not pretrained)")
    p.add_argument("--vae-lr", type=float, help="the VAE encoder's lr (default: --lr)")
    p.add_argument("--text-encoder-lr", type=float, help="the text encoder's lr (default: --lr)")
    p.add_argument("--balance-classes", action="store_true",
                   help="semantic stage: weight the CE by 1/sqrt(region frequency) in the batch")
    p.add_argument("--recon-weight", type=float, default=0.0, metavar="W",
                   help="semantic stage: add W times the VAE's reconstruction loss (L1 + KL; "
                        "its decoder trains) so the latent keeps the image's colours")
    p.add_argument("--reinit", action="store_true",
                   help="rebuild the stage's modules even if --init already trained them")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint.pt")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier run in OUTPUT (without it, a used OUTPUT is refused)")
    p.add_argument("--batch-size", type=positive_int, help="global batch per optimiser step")
    p.add_argument("--lr", type=float)
    p.add_argument("--milestones", type=int, nargs="*")
    p.add_argument("--factors", type=float, nargs="*")
    p.add_argument("--warmup-steps", type=positive_int, default=0, metavar="N",
                   help="ramp the lr up linearly over the first N optimiser steps")
    p.add_argument("--resolution", type=int, help="training side in px (preset default)")
    p.add_argument("--grad-accum", type=positive_int, default=1)
    p.add_argument("--clip-grad", type=float, default=1.0)
    p.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                   help="validate and export the weights' moving average (e.g. 0.999; 0: off)")
    p.add_argument("--gradient-checkpointing", action="store_true",
                   help="recompute U-Net activations in backward (less memory)")
    p.add_argument("--mixed-precision", choices=("auto", "bf16", "no"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=1)
    p.add_argument("--val-data", help="held-out SPEC (default: the test splits of --data)")
    p.add_argument("--val-every", type=int, default=0, help="0: validate at the end only")
    p.add_argument("--val-size", type=int, default=8, help="held-out samples")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--loader-workers", type=int, default=0)
    p.add_argument("--data-cache", help="folder that keeps every sample read, for later reads")
    p.add_argument("--ship-if-better", metavar="DIR",
                   help="after training, copy the pipeline to DIR if it validates better")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--num-workers", type=int, default=0,
                   help="Ray Train workers (0: train in this process)")
    p.add_argument("--use-gpu", action="store_true", help="one GPU per Ray worker, nccl")
    p.add_argument("--ray-address", help="Ray cluster address (default: start a local one)")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        preset=args.preset, stage=args.stage, data=args.data, output=args.output,
        max_steps=args.max_steps, max_minutes=args.max_minutes, init=args.init,
        pretrained=args.pretrained,
        train_encoders=args.train_encoders, vae_lr=args.vae_lr,
        text_encoder_lr=args.text_encoder_lr, balance_classes=args.balance_classes,
        recon_weight=args.recon_weight,
        reinit=args.reinit,
        batch_size=args.batch_size, lr=args.lr,
        milestones=args.milestones, factors=args.factors, warmup_steps=args.warmup_steps,
        resolution=args.resolution,
        grad_accum=args.grad_accum, clip_grad=args.clip_grad, ema=args.ema,
        gradient_checkpointing=args.gradient_checkpointing,
        mixed_precision=args.mixed_precision, seed=args.seed, log_every=args.log_every,
        val_data=args.val_data, val_every=args.val_every, val_size=args.val_size,
        checkpoint_every=args.checkpoint_every, loader_workers=args.loader_workers,
        data_cache=args.data_cache, progress=not args.no_progress)


def check_paths(config: TrainConfig, resume: bool, overwrite: bool = False) -> None:
    """Fail early, with one line, on folders that are not there and on an output that
    would destroy an earlier run or the pipeline the stage starts from."""
    output, out = Path(config.output), resolve(config.output)  # a symlink loop: UsageError
    if config.init is not None:
        if not (Path(config.init) / "model_index.json").is_file():
            raise ValueError(f"--init {config.init}: not a pipeline folder (no model_index.json)")
        init = resolve(config.init)
        if init.is_relative_to(out) or out.is_relative_to(init):
            raise ValueError(f"--output {config.output} would overwrite --init {config.init}, "
                             "the pipeline this stage starts from: choose a new --output")
    if output.exists() and not output.is_dir():
        raise ValueError(f"--output {config.output}: is a file, expected a run folder")
    if resume and overwrite:
        raise ValueError("--resume continues the run in --output and --overwrite replaces it: "
                         "give one of them")
    if resume and not (output / "checkpoint.pt").is_file():
        raise ValueError(f"--resume: no checkpoint in {config.output}")
    if not resume and not overwrite and output.is_dir() and any(output.iterdir()):
        raise ValueError(f"--output {config.output}: holds an earlier run; --resume continues it, "
                         "--overwrite replaces it, or choose a new folder")


def _worker_loop(loop_config: dict[str, Any]) -> None:
    """Runs on every Ray Train worker: the same trainer, DDP already initialised."""
    import torch
    import ray.train.torch

    torch.set_num_threads(loop_config["threads"])
    config = TrainConfig(**loop_config["config"])
    train(config, resume=loop_config["resume"], opener=open_dataset_with_video,
          device=ray.train.torch.get_device())


def train_with_ray(config: TrainConfig, resume: bool, num_workers: int, use_gpu: bool = False,
                   address: str | None = None) -> None:
    """Run the trainer on ``num_workers`` Ray Train workers (DDP)."""
    import dataclasses

    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=True)
    try:
        trainer = TorchTrainer(
            _worker_loop,
            train_loop_config={"config": dataclasses.asdict(config), "resume": resume,
                               "threads": max(1, (os.cpu_count() or 1) // num_workers)},
            torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
            scaling_config=ScalingConfig(num_workers=num_workers, use_gpu=use_gpu),
            run_config=RunConfig(name="tdm-train",
                                 storage_path=str(Path(config.output).resolve() / "ray")),
        )
        try:
            trainer.fit()
        except ray.train.TrainingFailedError as exc:
            last = [line.strip() for line in str(exc).splitlines() if line.strip()][-1:]
            raise TrainingFailed(f"a Ray Train worker failed: {' '.join(last) or one_line(exc)}"
                                 ) from exc
    finally:
        if started:
            ray.shutdown()


def check_ship_target(config: TrainConfig, target: str | None) -> None:
    """--ship-if-better needs a held-out set and a folder apart from the run's."""
    if target is None:
        return
    if held_out_source(config) is None:
        raise ValueError("--ship-if-better compares held-out scores: give --val-data (or data "
                         "with a held-out split) and --val-size > 0")
    ship, out = resolve(target), resolve(config.output)
    if ship.is_relative_to(out) or out.is_relative_to(ship):
        raise ValueError(f"--ship-if-better {target}: must lie outside --output {config.output}")


def ship(config: TrainConfig, target: str) -> str:
    """Copy the finished run to ``target`` if it validates better; the decision in a line."""
    from tdm.train.ship import ship_if_better

    held_out = open_held_out(config, open_dataset_with_video)
    return ship_if_better(config.output, target, held_out, held_out_source(config),
                          config.val_size).message


# what tdm.train raises for a bad option, dataset, folder or checkpoint
USAGE_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, KeyError)


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``tdm-train``; returns the exit status (``pipelines.console``; Ctrl-C
    and SIGTERM say how to resume). --no-progress also hides the diffusers/transformers bars."""
    return run_command(
        "tdm-train", build_parser(), _run, argv, usage=USAGE_ERRORS,
        uses_ray=lambda args: args.num_workers > 0,
        after_stop=lambda args: f"; `--resume` continues from the last checkpoint in {args.output}")


def _run(args: argparse.Namespace) -> int:
    """The stage ``main`` asked for; returns the exit status."""
    with quiet_loading() if args.no_progress else contextlib.nullcontext():
        config = config_from_args(args)
        check_paths(config, args.resume, args.overwrite)
        check_ship_target(config, args.ship_if_better)
        if args.num_workers > 0:  # fail here rather than in a worker
            micro_batch_size(config.hyper().batch_size, args.num_workers, config.grad_accum)
            open_data(config, config.hyper().batch_size, open_dataset_with_video)
            train_with_ray(config, args.resume, args.num_workers, args.use_gpu, args.ray_address)
        else:
            train(config, resume=args.resume, opener=open_dataset_with_video)
        if args.ship_if_better:
            print(f"tdm-train: {ship(config, args.ship_if_better)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
