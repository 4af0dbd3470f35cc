"""One trainer for the four stages: data order, optimisation, logging, checkpoints.

Pure torch. Runs single-process, or under any launcher that has initialised
``torch.distributed`` (Ray Train in ``pipelines.train``): the stage is then wrapped in
DDP and every rank takes its micro-batches of the same global batch.
"""
from __future__ import annotations

import contextlib
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from tdm.pipeline import TRAINING_ONLY

from .batches import collate, to_device
from .cache import unwrap
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import TrainConfig
from .ema import EmaWeights
from .lineage import resolved
from .optimizer import build_optimizer
from .sampling import MicroBatchSampler, micro_batch_size
from .setup import DataOpener, build_stage, open_data, processing_side
from .validation import validate

METRICS_NAME = "metrics.jsonl"
# metrics.jsonl keys that measure time, not training: they differ between equal runs
TIMING_KEYS = frozenset({"seconds", "data_seconds", "data_wait", "steps_per_s", "samples_per_s"})
RESUME_KEYS = ("preset", "stage", "data", "batch_size", "grad_accum", "seed", "resolution", "ema")


def _world() -> tuple[int, int]:
    """(rank, world size) of the initialised process group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _mean_over_ranks(values: dict[str, float], world: int) -> dict[str, float]:
    """Average logged scalars over all ranks (identity on one)."""
    if world == 1:
        return values
    keys = list(values)  # the same order on every rank (same stage)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(t)
    return {k: float(v) / world for k, v in zip(keys, t)}


def _from_rank0(value: float, world: int) -> float:
    """Rank 0's ``value`` on every rank (identity on one), so that all ranks stop together."""
    if world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.broadcast(t, src=0)
    return float(t)


class Throughput:
    """Step and data-loading time summed since the last logged step."""

    def __init__(self, samples_per_step: int):
        self.samples_per_step = samples_per_step
        self.steps, self.seconds, self.waiting = 0, 0.0, 0.0

    def add(self, seconds: float, waiting: float) -> None:
        self.steps, self.seconds, self.waiting = (self.steps + 1, self.seconds + seconds,
                                                  self.waiting + waiting)

    def take(self) -> dict[str, float]:
        """``data_wait`` (fraction of step time spent waiting for batches), ``steps_per_s``
        and ``samples_per_s`` over the steps since the last call; then starts again."""
        seconds = max(self.seconds, 1e-9)
        out = {"data_wait": self.waiting / seconds, "steps_per_s": self.steps / seconds,
               "samples_per_s": self.steps * self.samples_per_step / seconds}
        self.steps, self.seconds, self.waiting = 0, 0.0, 0.0
        return out


class Trainer:
    """Trains one stage as described by a :class:`TrainConfig`.

    Args:
        config: the run's settings.
        opener: ``tdm.data.open_dataset`` (the default) or a function with its
            signature, e.g. with a video frame reader bound.
        device: where to train (default: CUDA if available, else CPU).
    """

    def __init__(self, config: TrainConfig, opener: DataOpener | None = None,
                 device: torch.device | str | None = None):
        self.config = config = resolved(config)
        self.rank, self.world = _world()
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.output = Path(config.output)
        self.hyper = config.hyper()
        micro = micro_batch_size(self.hyper.batch_size, self.world, config.grad_accum)
        _seed_everything(config.seed)
        self.dataset, self.held_out = open_data(config, self.hyper.batch_size, opener)
        self.stage = build_stage(config).to(self.device)
        # InterleavedDataset orders its sources itself: read it in sequence
        self.sampler = MicroBatchSampler(len(self.dataset), micro, self.world, self.rank,
                                         config.grad_accum, config.seed,
                                         shuffle=not hasattr(unwrap(self.dataset), "schedule"),
                                         group=getattr(unwrap(self.dataset), "group_size", 1))
        groups = self.stage.parameter_groups({"vae": config.vae_lr,
                                              "text_encoder": config.text_encoder_lr})
        self.budget = None if config.max_minutes is None else 60.0 * config.max_minutes
        self.trained_seconds = 0.0  # wall time of the training loop, resumed runs included
        self.optimizer, self.scheduler = build_optimizer(
            groups, self.hyper, position=None if self.budget is None else self._position)
        self.step = 0
        self.ema = EmaWeights(self.stage.trainable, config.ema) if config.ema else None
        self.model: torch.nn.Module = self.stage
        if self.world > 1:
            self.model = DistributedDataParallel(self.stage)

    # -- checkpoints -------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything needed to continue bit-for-bit (this rank's view)."""
        return {"step": self.step, "trained_seconds": self.trained_seconds,
                "trainable": self.stage.trainable.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                **({"ema": self.ema.state_dict()} if self.ema else {})}

    def save(self) -> None:
        """Checkpoint with every rank's RNG state (written by rank 0)."""
        rngs = [rng_state()]
        if self.world > 1:
            rngs = [None] * self.world
            dist.all_gather_object(rngs, rng_state())
        if self.rank == 0:
            self.output.mkdir(parents=True, exist_ok=True)
            save_checkpoint(self.output, {**self.state(), "rng": rngs})

    def resume(self) -> None:
        """Load ``output/checkpoint.pt`` and cut metrics logged after it."""
        stored = TrainConfig.load(self.output)
        changed = [k for k in RESUME_KEYS if getattr(stored, k) != getattr(self.config, k)]
        if changed:
            raise ValueError(f"--resume with other settings than the run in {self.output}: "
                             + ", ".join(f"{k} was {getattr(stored, k)!r}" for k in changed))
        state = load_checkpoint(self.output)
        self.stage.trainable.load_state_dict(state["trainable"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema:
            self.ema.load_state_dict(state["ema"])
        self.step = int(state["step"])
        self.trained_seconds = float(state.get("trained_seconds", 0.0))
        set_rng_state(state["rng"][self.rank % len(state["rng"])])
        self.sampler.start_step = self.step
        if self.rank == 0:
            self._truncate_metrics(self.step)

    def _truncate_metrics(self, step: int) -> None:
        path = self.output / METRICS_NAME
        if path.exists():
            lines = [l for l in path.read_text().splitlines() if json.loads(l)["step"] <= step]
            path.write_text("".join(l + "\n" for l in lines))

    def export(self) -> Any:
        """The stage's pipeline to save, inferring at the trained side (after the upsampler
        stage, at its --init folder's: ``Stage.sets_processing_side``). Teacher, semantic
        head and the distillation projections stay in it, so that a later run can restart
        any stage from the folder, except on the SD-1.5 path (pretrained encoders), where as
        before only the semantic stage's output keeps the 860M-parameter teacher."""
        training_only = {name: getattr(self.stage.pipe, name) for name in TRAINING_ONLY}
        pipe = self.stage.export()
        if self.config.encoders_pretrained and self.config.stage != "semantic":
            training_only = dict.fromkeys(training_only)
        pipe.register_modules(**training_only)
        if self.stage.sets_processing_side:
            pipe.register_to_config(resolution=processing_side(self.config))
        return pipe

    # -- training ----------------------------------------------------------------
    def _position(self, step: int) -> float:
        """The lr schedule's position under a time budget: the step, or the share of the
        budget spent in steps, whichever is further along."""
        return max(float(step), self.hyper.total_steps * self.trained_seconds / self.budget)

    def out_of_time(self) -> bool:
        return self.budget is not None and self.trained_seconds >= self.budget

    def _autocast(self) -> contextlib.AbstractContextManager:
        use = self.device.type == "cuda" and self.config.mixed_precision in ("auto", "bf16")
        return torch.autocast("cuda", dtype=torch.bfloat16) if use else contextlib.nullcontext()

    def train_step(self, micro_batches: list[dict[str, Any]]) -> dict[str, float]:
        """One optimiser step over this rank's micro-batches (the lr schedule moves on in
        ``fit``); returns mean loss terms."""
        self.model.train()
        totals: dict[str, float] = {}
        for i, batch in enumerate(micro_batches):
            last = i == len(micro_batches) - 1
            sync = contextlib.nullcontext() if last or self.world == 1 else self.model.no_sync()
            with sync:
                with self._autocast():
                    terms = self.model(batch)
                (terms["loss"] / len(micro_batches)).backward()
            for name, value in terms.items():
                totals[name] = totals.get(name, 0.0) + float(value.detach()) / len(micro_batches)
        if self.config.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(self.stage.trainable_parameters(), self.config.clip_grad)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema:
            self.ema.update(self.step)
        return totals

    def averaged(self) -> contextlib.AbstractContextManager:
        """The weights validation and export use: the moving average with ``--ema``."""
        return self.ema.swapped() if self.ema else contextlib.nullcontext()

    def _validate(self) -> dict[str, float]:
        """tdm.metrics on the first ``val_size`` held-out samples (rank 0), ``val_*`` keys."""
        if self.rank != 0 or self.held_out is None:
            return {}
        indices = range(min(self.config.val_size, len(self.held_out)))
        with self.averaged():
            return validate(self.stage, self.held_out, indices, self.sampler.micro_batch,
                            self.device)

    def _log(self, record: dict[str, Any]) -> None:
        if self.rank == 0:
            with open(self.output / METRICS_NAME, "a") as f:
                f.write(json.dumps(record) + "\n")

    def fit(self, resume: bool = False) -> Path:
        """Train up to ``hyper.total_steps`` (or until ``max_minutes`` are spent) and save
        the stage's pipeline to ``output``."""
        cfg = self.config
        if resume:
            self.resume()
        elif self.rank == 0:
            self.output.mkdir(parents=True, exist_ok=True)
            (self.output / METRICS_NAME).write_text("")
            (self.output / CHECKPOINT_NAME).unlink(missing_ok=True)
        if self.rank == 0:
            cfg.save(self.output)
        total = self.hyper.total_steps
        batches = iter(DataLoader(
            self.dataset, batch_sampler=self.sampler, collate_fn=collate,
            num_workers=cfg.loader_workers, pin_memory=self.device.type == "cuda",
            generator=torch.Generator().manual_seed(cfg.seed)))  # leaves the global RNG alone
        bar = tqdm(total=total, initial=self.step, desc=f"tdm-train {cfg.stage}",
                   disable=self.rank != 0 or not cfg.progress)
        speed = Throughput(self.hyper.batch_size)
        while self.step < total and not self.out_of_time():
            started = time.perf_counter()
            lr = self.scheduler.get_last_lr()[0]
            micro = [to_device(next(batches), self.device) for _ in range(cfg.grad_accum)]
            waited = time.perf_counter() - started
            terms = _mean_over_ranks(self.train_step(micro), self.world)
            self.step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{terms['loss']:.4f}")
            seconds = time.perf_counter() - started
            self.trained_seconds += seconds
            if self.budget is not None:
                self.trained_seconds = _from_rank0(self.trained_seconds, self.world)
            self.scheduler.step()  # after the time is counted: the next step's lr
            last = self.step == total or self.out_of_time()
            validate_now = last or (cfg.val_every and self.step % cfg.val_every == 0)
            speed.add(seconds, waited)
            record = {"step": self.step, **terms, "lr": lr, "seconds": seconds,
                      "data_seconds": waited}
            if validate_now or self.step % cfg.log_every == 0:
                record.update(speed.take())
                if validate_now:
                    record.update(self._validate())
                self._log(record)
            if self.step % cfg.checkpoint_every == 0 or last:
                self.save()
            self.trained_seconds += time.perf_counter() - started - seconds  # validation, saving
        bar.close()
        if self.rank == 0:
            with self.averaged():
                self.export().save_pretrained(self.output)
        if self.world > 1:
            dist.barrier()
        return self.output


def train(config: TrainConfig, resume: bool = False, opener: DataOpener | None = None,
          device: torch.device | str | None = None) -> Path:
    """Run one stage; returns the output folder (a loadable TDMPipeline)."""
    return Trainer(config, opener, device).fit(resume=resume)
