"""Does a model matte the named instance? The figures of issue 14 on held-out scenes.

    python -m pipelines.grounding --model tdm/assets/demo --split test --count 96 --seed 777 --json
    python -m pipelines.grounding --resolution 192 ...   # the pipeline processing at another side

Scenes come from the synthetic generator's ``--split`` (val and test hold shape families,
patterns and backgrounds that training never sees). For each scene the model gets its
referring text and the matte is compared with every instance, so the figures say not only
how good the matte is but whether it picked the right object:
- ``iou``: mean IoU (matte > 0.5) with the named instance;
- ``iou_other``: mean over scenes with other instances of the largest IoU with one of them;
- ``sad`` and ``sad_empty``: SAD of the matte and of an all-zero matte, and their ratio;
- ``absent_mean_alpha``: mean alpha for texts that name an object not in the scene;
- ``pair_choice``: on scenes with two or more instances of the named category, the share
  where the named one has the highest IoU of them;
- ``named_above_others``: on scenes with other instances, the share where the mean matte
  inside the named one (weighted by its alpha) is higher than inside each other one:
  grounding that shows before the matte passes 0.5 anywhere (chance: 1 / instances);
- ``swap_choice``: on scenes with another instance that a text of its own names (as
  ``synthetic:pairs=1`` draws it), the share where each of the two texts gives its own
  instance a higher alpha-weighted mean matte than the other text gives it. It needs the
  text: a model that ignores it scores 0, one whose text changes the matte at random 1/4.
- ``by_kind``: ``iou``, ``named_above_others`` and ``swap_choice`` again for each kind of
  referring text (``tdm.data.phrases.phrase_kind``: position, size, colour, pattern,
  category),
  to tell which words the model has learnt.

``--teacher`` scores the folder's teacher instead (a run folder, or the shipped one, which
keeps it): its soft proxy p(fg) + p(transparent) / 2, what the semantic stage validates,
so it tells whether stage 1 grounds. ``--oracle`` scores the proxy of a perfect teacher
(the region labels on the teacher's 1/8 grid), the ceiling of ``--teacher``'s figures:
at 128 px its IoU is about 0.11 and its SAD about 1.2x an empty matte's, since a cell is
foreground only when all of it is (docs/TRAINING.md).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Sequence

import numpy as np
import torch

from pipelines.console import Parser, run_command
from pipelines.errors import UsageError
from pipelines.model_loading import (load_inference_pipeline, model_source, quiet_loading, resolve_device,
                                     resolve_dtype)
from pipelines.options import DEVICES, check_resolution
from tdm import metrics


def score_scene(pred: np.ndarray, alphas: np.ndarray, categories: list[str], target: int | None
                ) -> dict[str, float]:
    """The figures of one scene: pred (H,W) matte for the text naming instance ``target``
    (None: an absent object) of a scene with instance alphas (N,H,W)."""
    if target is None:
        return {"absent_mean_alpha": float(pred.mean())}
    truth = alphas[target]
    out = {"iou": metrics.iou(pred, truth), "sad": metrics.sad(pred, truth),
           "sad_empty": metrics.sad(np.zeros_like(truth), truth)}
    others = [i for i in range(len(alphas)) if i != target and alphas[i].max() > 0.5]
    if others:
        out["iou_other"] = max(metrics.iou(pred, alphas[i]) for i in others)
        named = metrics.inside(pred, truth)
        out["named_above_others"] = float(named > max(metrics.inside(pred, alphas[i]) for i in others))
    same = [i for i in others if categories[i] == categories[target]]
    if same:
        out["pair_choice"] = float(out["iou"] > max(metrics.iou(pred, alphas[i]) for i in same))
    return out


Predictor = Callable[[np.ndarray, str], np.ndarray]  # (H,W,3) uint8 image, text -> (H,W) matte


def pipeline_predictor(pipe: Any, resolution: int | None = None) -> Predictor:
    """The whole matting pipeline, as ``tdm-video`` runs it (``resolution``: processing
    side, default the pipeline's own)."""
    return lambda image, text: pipe(image, prompt=text, resolution=resolution).alpha[0]


def teacher_predictor(pipe: Any) -> Predictor:
    """The teacher's soft proxy p(fg) + p(transparent) / 2 (``SemanticStage.predict_alpha``)
    of a pipeline that holds a teacher and semantic head."""
    from tdm.train.stages.semantic import SemanticStage

    if pipe.teacher_unet is None or pipe.semantic_head is None:
        raise UsageError("--teacher: this model folder holds no teacher and semantic head")
    stage = SemanticStage(pipe).eval()

    processor = pipe.image_processor

    def predict(image: np.ndarray, text: str) -> np.ndarray:
        size = image.shape[:2]
        x = processor.normalize(torch.stack(processor.load(image)), size)
        batch = {"image": x.to(pipe.device), "text": [text], "alpha": torch.zeros(1, 1, *size)}
        return stage.predict_alpha(batch)[0, 0].float().cpu().numpy()
    return predict


def oracle_proxy(truth: np.ndarray) -> np.ndarray:
    """The soft proxy of a perfect teacher for the instance alpha ``truth`` (H,W): its
    region labels on the 1/8 grid, upsampled as a teacher's proxy is -> (H,W)."""
    from tdm.image_processor import TDMImageProcessor
    from tdm.train.stages.semantic import label_proxy

    size = truth.shape
    proxy = label_proxy(torch.from_numpy(truth).float()[None, None], (size[0] // 8, size[1] // 8))
    return TDMImageProcessor.resize(proxy, size)[0, 0].numpy()


def mean_of(rows: list[dict[str, Any]], key: str) -> tuple[float | None, int]:
    """(mean of ``key`` over the rows that have it, rounded; None for none, their count)."""
    values = [r[key] for r in rows if key in r]
    return (round(float(np.mean(values)), 4) if values else None), len(values)


def evaluate(predict: Predictor | None, split: str, count: int, seed: int, size: int) -> dict[str, Any]:
    """Mean figures over ``count`` scenes of ``split`` (each key over the scenes it applies
    to); ``predict`` None scores ``oracle_proxy``."""
    from tdm.data import SyntheticMattingDataset
    from tdm.data.phrases import phrase_kind
    from tdm.data.synthetic import pick_target

    def answer(image: np.ndarray, text: str, truth: np.ndarray) -> np.ndarray:
        return oracle_proxy(truth) if predict is None else predict(image, text)

    scenes = SyntheticMattingDataset(size, length=count, seed=seed, augment=False, split=split)
    rows = []
    for index in range(count):
        scene, target, text = scenes.scene(index)
        named = np.zeros(scene.image.shape[:2], np.float32) if target is None else scene.alphas[target]
        pred = answer(scene.image, text, named)
        row = score_scene(pred, scene.alphas, [i.category for i in scene.infos], target)
        row["kind"] = "absent" if target is None else phrase_kind(text)
        if target is not None:  # the swap test: another instance, named by a text of its own
            other, other_text = pick_target(scene, np.random.default_rng([seed, index, 2]), absent=0.0,
                                            exclude=target)
            if other is not None and other_text:
                swapped = answer(scene.image, other_text, scene.alphas[other])
                row["swap_choice"] = metrics.swap_choice(pred, swapped, scene.alphas[target],
                                                         scene.alphas[other])
        rows.append(row)
    summary: dict[str, Any] = {"split": split, "scenes": count, "seed": seed, "size": size}
    for key in ("iou", "iou_other", "sad", "sad_empty", "absent_mean_alpha", "pair_choice",
                "named_above_others", "swap_choice"):
        summary[key], summary[f"{key}_n"] = mean_of(rows, key)
    if summary["sad"] is not None and summary["sad_empty"]:
        summary["sad_ratio"] = round(summary["sad"] / summary["sad_empty"], 4)
    summary["by_kind"] = {}
    for kind in sorted({r["kind"] for r in rows} - {"absent"}):
        named = [r for r in rows if r["kind"] == kind]
        summary["by_kind"][kind] = {"scenes": len(named), **{
            key: mean_of(named, key)[0] for key in ("iou", "named_above_others", "swap_choice")}}
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipelines.grounding``; returns the exit status (``pipelines.console``)."""
    ap = Parser(prog="python -m pipelines.grounding", description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="pipeline folder (default: the shipped demo)")
    ap.add_argument("--split", default="test", choices=("train", "val", "test"))
    ap.add_argument("--count", type=int, default=96)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--resolution", type=int, default=None,
                    help="processing side of the pipeline (default: the folder's own)")
    ap.add_argument("--device", default="cpu", choices=DEVICES)
    ap.add_argument("--teacher", action="store_true",
                    help="score the folder's teacher (semantic head's soft proxy) instead")
    ap.add_argument("--oracle", action="store_true",
                    help="score a perfect teacher's proxy (the ceiling of --teacher's figures); no model")
    ap.add_argument("--json", action="store_true")
    return run_command("grounding", ap, _run, argv)


def _run(args: argparse.Namespace) -> int:
    if args.count < 1 or args.size < 64:
        raise UsageError("--count must be at least 1 and --size at least 64")
    if args.oracle and (args.teacher or args.model):
        raise UsageError("--oracle scores no model: leave out --model and --teacher")
    if (args.teacher or args.oracle) and args.size % 64:
        raise UsageError("--teacher and --oracle need a --size that is a multiple of 64")
    if args.resolution is not None:
        check_resolution(args.resolution)
        if args.teacher or args.oracle:
            raise UsageError("--resolution sets the pipeline's processing side: leave out --teacher and --oracle")
    device = resolve_device(args.device)
    if args.oracle:
        predict = None
    elif args.teacher:
        from tdm.train.ship import load_model

        with quiet_loading():
            pipe = load_model(model_source(args.model)).to(device)
        predict = teacher_predictor(pipe)
    else:
        predict = pipeline_predictor(load_inference_pipeline(args.model, device, resolve_dtype("fp32", device)),
                                     args.resolution)
    with quiet_loading(), torch.inference_mode():
        summary = evaluate(predict, args.split, args.count, args.seed, args.size)
    summary["scored"] = "oracle" if args.oracle else "teacher" if args.teacher else "pipeline"
    print(json.dumps(summary) if args.json else "\n".join(f"{k:<20} {v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
