"""``tdm-eval --model PATH --data SPEC [--json] [--resolution N] [--limit N] [--square]
[--full-resolution] [--prompt TEXT]``.

Runs a pipeline on every sample of ``tdm.data.open_dataset(SPEC)`` (no augmentation) with
the sample's own text (or ``--prompt``) as prompt and prints mean SAD, MSE, Grad, Conn;
for video specs also dtSSD and MESSDdt over each clip's consecutive frames. Two protocols
(docs/CLI.md says which paper table each reproduces): by default image and GT are squashed
to ``--size`` x ``--size`` and scored there (Table 1); ``--full-resolution`` feeds each
image at its own size (the pipeline infers at its processing size and upsamples) and
scores at that size (Tables 2 and 10). ``--square`` makes the pipeline process at
``resolution`` x ``resolution`` as the paper does. Errors are one line on stderr
(``pipelines.console``): exit 2 for a bad option, ``--data`` or ``--model``, 1 when the
evaluation itself failed (``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from typing import Any, Iterable, Sequence

import cv2
import numpy as np
import torch

from media.pixels import to_uint8
from pipelines.console import Parser, run_command
from pipelines.clip_eval import clip_name, clip_table, score_clips
from pipelines.datasets import open_dataset_with_video
from pipelines.errors import UsageError, one_line
from pipelines.model_loading import load_inference_pipeline, quiet_loading, resolve_device, resolve_dtype
from pipelines.options import DEVICES, DTYPES, check_resolution
from tdm import metrics

MAX_SIZE = 8192  # --size: larger squashed samples only exhaust memory
IMAGE_METRICS = {"sad": metrics.sad, "mse": metrics.mse, "grad": metrics.grad, "conn": metrics.conn}


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _side(text: str) -> int:
    """--size: 1 to MAX_SIZE pixels."""
    value = _whole(text)
    if not 1 <= value <= MAX_SIZE:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_SIZE} pixels, got {value}")
    return value


def _resolution(text: str) -> int:
    """--resolution: what tdm-video accepts (a multiple of 64, 64 to 2048)."""
    try:
        return check_resolution(_whole(text))
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--resolution: ")) from None


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="tdm-eval", description="Evaluate a TDM pipeline on a matting dataset.")
    p.add_argument("--model", required=True, help="pipeline folder or hub id")
    p.add_argument("--data", required=True, help="dataset SPEC, e.g. refmatte:/data/RefMatte,split=test")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    p.add_argument("--resolution", type=_resolution, default=None,
                   help="processing long side (default: the model's)")
    p.add_argument("--size", type=_side, default=512,
                   help="side image and GT are squashed to and scored at (synthetic: made at)")
    p.add_argument("--full-resolution", action="store_true",
                   help="score at each image's own size, the model inferring at its processing "
                        "size (paper Tables 2, 10); default: at --size x --size (Table 1)")
    p.add_argument("--square", action="store_true",
                   help="process at --resolution x --resolution like the paper (default: keep "
                        "the aspect ratio, pad to 64)")
    p.add_argument("--prompt", help="one prompt for every sample (default: each sample's text)")
    p.add_argument("--limit", type=int, default=None, help="evaluate at most N samples")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--dtype", default="fp32", choices=DTYPES)
    return p


def sample_pair(sample: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Image (H,W,3) uint8 and GT alpha (H,W) of a sample as the dataset made it (image
    (3,H,W) in [-1,1], alpha (1,H,W))."""
    return (to_uint8(sample["image"].float().permute(1, 2, 0).numpy(), low=-1.0),
            sample["alpha"][0].float().numpy())


def clip_key(dataset: Any, index: int) -> int | None:
    """The clip a video dataset item belongs to, for the video metrics over its frames: the
    identity of the clip object ``dataset.locate`` gives (one per clip; clips carry no name,
    and two clips may hold equal fields); None for image datasets."""
    if not hasattr(dataset, "locate"):
        return None
    clip, _ = dataset.locate(index)
    return id(clip)


def full_resolution_pair(dataset: Any, index: int, sample: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Image (H,W,3) uint8 and GT alpha (H,W) of item ``index`` at its own size: the real
    image sets read the record's files again; synthetic samples are made at ``--size``."""
    from tdm.data.io import read_rgb
    from tdm.data.synthetic import SyntheticMattingDataset

    if isinstance(dataset, SyntheticMattingDataset):
        return sample_pair(sample)
    if not hasattr(dataset, "records"):
        raise UsageError("--full-resolution scores one image set at a time "
                         "(refmatte, refcoco, p3m, am2k, rm1k or synthetic)")
    record = dataset.records[index % len(dataset.records)]
    image, alpha = read_rgb(record.image), record.alpha()
    if alpha.shape != image.shape[:2]:
        alpha = cv2.resize(alpha, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    return image, alpha


def evaluate(pipe: Any, dataset: Any, resolution: int | None = None, limit: int | None = None,
             square: bool = False, full_resolution: bool = False, prompt: str | None = None) -> dict[str, Any]:
    """Mean image metrics over samples; video metrics averaged over clips (>= 2 frames).
    ``full_resolution``: the model sees, and is scored on, each image at its own size
    (else the dataset's ``--size`` sample); ``square`` is the pipeline's; ``prompt``
    replaces every sample's text.

    -> {"samples": n, "sad": ..., "mse": ..., "grad": ..., "conn": ... [, "dtssd", "messddt",
    "flicker", "flicker_gt", "stabilised", "clips"]} (video: ``clip_eval.score_clips``).
    """
    count = len(dataset) if limit is None else min(limit, len(dataset))
    if count == 0:
        raise UsageError("the dataset has no samples")
    scores: dict[str, list[float]] = defaultdict(list)
    clips: dict[object, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = defaultdict(list)
    names: dict[object, str] = {}
    for index in range(count):
        sample = dataset[index]
        image, gt = (full_resolution_pair(dataset, index, sample) if full_resolution
                     else sample_pair(sample))
        pred = np.asarray(pipe(image, prompt=prompt or sample["text"], resolution=resolution,
                               square=square, output_type="np").alpha[0], dtype=np.float64)
        for name, fn in IMAGE_METRICS.items():
            scores[name].append(fn(pred, gt))
        key = clip_key(dataset, index)
        if key is not None:
            clips[key].append((image, pred, gt))
            names.setdefault(key, clip_name(dataset, index))
    summary: dict[str, Any] = {"samples": count, **{k: float(np.mean(v)) for k, v in scores.items()}}
    return {**summary, **score_clips(clips, names)}


def open_eval_data(spec: str, size: int) -> Any:
    """The dataset of ``--data`` without augmentation (video files read by ``video``)."""
    try:
        return open_dataset_with_video(spec, size=size, augment=False)
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"--data {spec}: {one_line(exc)}") from None


def format_table(summary: dict[str, Any]) -> Iterable[str]:
    """Human-readable lines: MSE also shown x1e3 as papers print it."""
    yield f"samples  {summary['samples']}"
    for key in ("sad", "mse", "grad", "conn", "dtssd", "messddt", "flicker", "flicker_gt"):
        if key in summary:
            extra = f"  (x1e3: {summary[key] * 1e3:.4f})" if key == "mse" else ""
            yield f"{key:<10} {summary[key]:.6g}{extra}"
    yield from clip_table(summary)


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``tdm-eval``; returns the exit status (``pipelines.console``)."""
    return run_command("tdm-eval", build_parser(), _run, argv)


def _run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    device = resolve_device(args.device)
    dataset = open_eval_data(args.data, args.size)
    pipe = load_inference_pipeline(args.model, device, resolve_dtype(args.dtype, device))
    start = time.perf_counter()
    with quiet_loading(), torch.inference_mode():
        pipe.set_progress_bar_config(disable=True)
        summary = evaluate(pipe, dataset, args.resolution, args.limit, square=args.square,
                           full_resolution=args.full_resolution, prompt=args.prompt)
    summary["seconds"] = round(time.perf_counter() - start, 3)
    print(json.dumps(summary) if args.json else "\n".join(format_table(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
