"""Replace a shipped model folder only when a run's pipeline validates better.

Both models are scored the way inference runs them (``TDMPipeline.__call__`` on held-out
samples, :func:`tdm.train.validation.score`): the run ships only if its mean IoU (matte >
0.5) with the named instance is higher and its mean SAD no higher (a model that finds
more of the object by spreading a grey haze over the frame is not better). The shipped folder keeps its figure in ``validation.json`` beside the weights;
when that figure was measured on other held-out samples, the shipped model is scored
again on the run's. The new folder holds the pipeline in ``dtype`` (scored as stored), the
run's ``train_config.json`` (its lineage, for the next ``--init``) and the record; it
replaces the old folder whole. A run that kept its teacher and semantic head (every run
without pretrained weights) ships them too, so a later round continues every stage from
the shipped folder, even on a machine where the run folders are gone; inference skips them.
"""
from __future__ import annotations

import datetime
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import TrainConfig
from .curve import logged_steps
from .trainer import METRICS_NAME
from .validation import SCORE_VERSION, pipeline_predictor, score

RECORD_NAME = "validation.json"
METRIC = "val_iou"  # higher is better
GUARD = "val_sad"  # may not get worse


@dataclass
class ShipDecision:
    """Whether the run was shipped, why, and both models' figures."""

    shipped: bool
    message: str
    candidate: dict[str, float]
    baseline: dict[str, float] | None


def load_model(folder: str | Path, dtype: torch.dtype = torch.float32) -> Any:
    """A pipeline folder on the CPU in ``dtype``."""
    import tdm

    return tdm.TDMPipeline.from_pretrained(str(folder), dtype=dtype)


def evaluate(pipe: Any, held_out: Any, count: int, batch_size: int = 4) -> dict[str, float]:
    """Scores of ``pipe`` on the first ``count`` held-out samples."""
    indices = list(range(min(count, len(held_out))))
    return score(pipeline_predictor(pipe), held_out, indices, batch_size, torch.device("cpu"))


def save_shipped_parts(run: str | Path, folder: str | Path,
                       dtype: torch.dtype = torch.float16) -> None:
    """Save the pipeline in ``run`` to ``folder`` in ``dtype``, the teacher and semantic
    head included when the run kept them (runs without pretrained weights do: 18 MB for
    the demo teacher in fp16), so that the next round continues every stage from the
    shipped folder; inference never loads them (``tdm.pipeline.INFERENCE_ONLY``)."""
    load_model(run, dtype).save_pretrained(folder)


def keep(run: str | Path, folder: str | Path, dtype: torch.dtype = torch.float16) -> None:
    """Replace ``folder`` with the state of ``run``, shipped or not: its pipeline in
    ``dtype`` (teacher included), ``train_config.json`` and ``metrics.jsonl``. This is
    the lineage's committed training state (``training/demo``), which a fresh clone still
    has when the run folders are gone, and the next round ``--init``s."""
    run, folder = Path(run), Path(folder)
    if not (run / "model_index.json").is_file():
        raise ValueError(f"{run} holds no finished pipeline (model_index.json)")
    staging = folder.with_name(folder.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    save_shipped_parts(run, staging, dtype)
    TrainConfig.load(run).save(staging)
    shutil.copyfile(run / METRICS_NAME, staging / METRICS_NAME)
    _replace_folder(staging, folder)


def read_record(folder: str | Path) -> dict[str, Any] | None:
    path = Path(folder) / RECORD_NAME
    return json.loads(path.read_text()) if path.is_file() else None


def _replace_folder(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, replacing it whole (old one removed at the end)."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(source, target)
    shutil.rmtree(old, ignore_errors=True)


def worse(candidate: dict[str, float], baseline: dict[str, float]) -> str | None:
    """Why ``candidate`` does not beat ``baseline`` (scores as :func:`evaluate` gives), or
    None when it does: a higher IoU and a SAD no higher."""
    if METRIC not in candidate:
        return "no held-out sample shows its object, so there is no IoU to compare"
    if METRIC in baseline and candidate[METRIC] <= baseline[METRIC]:
        return f"held-out IoU {candidate[METRIC]:.4f} is not higher ({baseline[METRIC]:.4f})"
    if GUARD in baseline and candidate[GUARD] > baseline[GUARD]:
        return f"held-out SAD {candidate[GUARD]:.3f} is higher ({baseline[GUARD]:.3f})"
    return None


def ship_if_better(run: str | Path, target: str | Path, held_out: Any,
                   held_out_key: dict[str, Any], count: int,
                   dtype: torch.dtype = torch.float16) -> ShipDecision:
    """Copy the pipeline in ``run`` to ``target`` if it validates better than the shipped
    one (:func:`worse`).

    Args:
        run: a finished run folder (pipeline and train_config.json).
        target: the shipped model folder (may not exist yet).
        held_out: dataset of held-out samples; held_out_key: what identifies it (spec,
            seed, size), stored in the record to know when a figure can be reused.
        count: how many held-out samples to score.
        dtype: the shipped weights' dtype.
    """
    run, target = Path(run), Path(target)
    key = {**held_out_key, "count": count, "score_version": SCORE_VERSION}
    staging = target.with_name(target.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    save_shipped_parts(run, staging, dtype)
    candidate = evaluate(load_model(staging), held_out, count)  # as shipped
    record = read_record(target)
    if record is not None and record.get("held_out") == key:
        baseline = record["scores"]
    elif (target / "model_index.json").is_file():
        baseline = evaluate(load_model(target), held_out, count)
    else:
        baseline = None
    refusal = worse(candidate, baseline or {})
    if refusal is not None:
        shutil.rmtree(staging)
        return ShipDecision(False, f"not shipped: {refusal} than {target}'s", candidate, baseline)
    stored = TrainConfig.load(run)
    stored.save(staging)
    (staging / RECORD_NAME).write_text(json.dumps({
        "scores": candidate, "held_out": key, "metric": METRIC, "run": str(run),
        "stage": stored.stage, "steps": max(logged_steps(run), default=0),
        "shipped": datetime.datetime.now().isoformat(timespec="seconds")}, indent=1))
    _replace_folder(staging, target)
    before = f" (was {baseline[METRIC]:.4f})" if baseline and METRIC in baseline else ""
    return ShipDecision(True, f"shipped to {target}: held-out IoU {candidate[METRIC]:.4f}{before}",
                        candidate, baseline)
