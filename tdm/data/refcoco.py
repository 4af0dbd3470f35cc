"""RefCOCO loader: COCO images, instance masks (polygons / RLE decoded here), referring
expressions from refs(unc).p (restricted unpickler) or a JSON form, and alpha mattes
precomputed by ``annotate.alpha_from_mask`` into ``alpha/<ann_id>.png`` when present
(else the binary mask). Layout in docs/DATASETS.md."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .io import load_plain_pickle, read_alpha, read_json
from .records import Record, RecordDataset, texts_of

# the paper drops classes whose GT alpha is ambiguous or poor (appendix 6.2.2)
EXCLUDED_CATEGORIES = ("bottle", "wine glass", "bicycle")


def rle_counts_from_string(s: str) -> list[int]:
    """Decode COCO's compressed RLE string (LEB128-like, 5 bits per char, deltas from i-2)."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def decode_segmentation(segmentation: Any, height: int, width: int) -> np.ndarray:
    """(H,W) float32 {0,1} mask from COCO polygons, uncompressed RLE or compressed RLE."""
    if isinstance(segmentation, list):
        mask = np.zeros((height, width), np.uint8)
        polys = [np.asarray(p, np.float64).reshape(-1, 2) for p in segmentation if len(p) >= 6]
        cv2.fillPoly(mask, [np.round(p).astype(np.int32) for p in polys], 1)
        return mask.astype(np.float32)
    counts = segmentation["counts"]
    if isinstance(counts, (str, bytes)):
        counts = rle_counts_from_string(counts.decode() if isinstance(counts, bytes) else counts)
    h, w = segmentation.get("size", (height, width))
    flat = np.zeros(h * w, np.float32)
    pos, value = 0, 0
    for run in counts:
        flat[pos:pos + run] = value
        pos, value = pos + run, 1 - value
    return flat.reshape(w, h).T.copy()  # column-major


def load_refs(root: Path) -> list[dict]:
    """refs from refs(unc).json / refs.json, else refs(unc).p via the restricted unpickler."""
    for name in ("refs(unc).json", "refs.json"):
        if (root / name).is_file():
            return read_json(root / name)
    for name in ("refs(unc).p", "refs.p"):
        if (root / name).is_file():
            return load_plain_pickle(root / name)
    raise FileNotFoundError(f"no refs(unc).json / refs(unc).p in {root}")


def _image_path(root: Path, file_name: str) -> Path:
    # the last folder is where lichengunc/refer keeps them: refer/data/{refcoco,images/mscoco/...}
    for d in (root / "images", root / "images" / "train2014", root / "train2014", root,
              root.parent / "images" / "mscoco" / "images" / "train2014"):
        if (d / file_name).is_file():
            return d / file_name
    return root / "images" / file_name


def refcoco_records(root: str | Path, split: str = "train",
                    exclude: tuple[str, ...] = EXCLUDED_CATEGORIES, alpha_dir: str = "alpha") -> list[Record]:
    """One record per referred object of ``split``; texts are its sentences."""
    root = Path(root)
    coco = read_json(root / "instances.json")
    images = {im["id"]: im for im in coco["images"]}
    anns = {a["id"]: a for a in coco["annotations"]}
    names = {c["id"]: c["name"] for c in coco.get("categories", [])}
    records = []
    for ref in load_refs(root):
        ann = anns.get(ref["ann_id"])
        texts = texts_of(ref.get("sentences"))
        if ref.get("split", split) != split or ann is None or not texts:
            continue
        if names.get(ann.get("category_id")) in exclude:
            continue
        im = images[ann["image_id"]]
        alpha_file = root / alpha_dir / f"{ann['id']}.png"
        alpha = (partial(read_alpha, alpha_file) if alpha_file.is_file()
                 else partial(decode_segmentation, ann["segmentation"], im["height"], im["width"]))
        records.append(Record(_image_path(root, im["file_name"]), alpha, tuple(texts)))
    return records


def open_refcoco(root, size=512, seed=0, split="train", augment=True,
                 exclude: tuple[str, ...] = EXCLUDED_CATEGORIES) -> RecordDataset:
    return RecordDataset(refcoco_records(root, split, exclude), "refcoco", size, seed, augment)
