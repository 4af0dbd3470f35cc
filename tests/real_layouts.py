"""Tiny copies of the real datasets, laid out as their downloads are (docs/DATASETS.md):

- RefMatte (JizhiziLi/RIM): ``{train,test}/img`` + ``mask`` (one PNG per instance) and a
  label JSON keyed by instance, ``{instance: {"image_name", "expressions"}}``;
  RefMatte-RW100: ``image`` + ``mask`` + ``refmatte_rw100_label.json`` beside
  ``eval_index_expression.json`` ({image_name: index}).
- RefCOCO through lichengunc/refer: ``data/refcoco/{instances.json, refs(unc).p,
  refs(google).p}`` (Python 2 pickles, splits train/val/testA/testB) and the COCO images
  in ``data/images/mscoco/images/train2014``.
- P3M-10k: ``train/{blurred_image,mask,fg_blurred,bg}``,
  ``validation/P3M-500-P/{blurred_image,mask,trimap}``, ``validation/P3M-500-NP/{original_image,mask,trimap}``.
- AM-2k: ``train/{original,mask,fg}``, ``validation/{original,mask,trimap}``.
- RM-1k: one real-world set, ``image`` + ``mask``, no split.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

import cv2
import numpy as np

REFCOCO_SPLITS = ("train", "val", "testA", "testB")


def write_image(path: Path, seed: int, h: int = 48, w: int = 64) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8))


def box(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    """(h, w) {0, 1} mask of a box placed by ``seed``."""
    rng = np.random.default_rng(seed + 1)
    mask = np.zeros((h, w), np.float32)
    y, x = int(rng.integers(4, h // 2)), int(rng.integers(4, w // 2))
    mask[y:y + h // 3, x:x + w // 3] = 1
    return mask


def write_matte(path: Path, seed: int, h: int = 48, w: int = 64) -> None:
    """An 8-bit PNG matte: a soft-edged box."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.round(cv2.GaussianBlur(box(seed, h, w), (5, 5), 0) * 255).astype(np.uint8))


def write_pair(image: Path, alpha: Path, seed: int) -> None:
    write_image(image, seed)
    write_matte(alpha, seed)


def py2_pickle(value) -> bytes:
    """A protocol-2 pickle as Python 2's cPickle writes it: str as 8-bit BINSTRING."""
    def enc(v) -> bytes:
        if isinstance(v, dict):
            return b"}(" + b"".join(enc(k) + enc(x) for k, x in v.items()) + b"u"
        if isinstance(v, list):
            return b"](" + b"".join(enc(x) for x in v) + b"e"
        if isinstance(v, str):
            data = v.encode("latin1")
            return (b"U" + bytes([len(data)]) if len(data) < 256 else b"T" + struct.pack("<i", len(data))) + data
        if isinstance(v, float):
            return b"G" + struct.pack(">d", v)
        return b"J" + struct.pack("<i", v)
    return b"\x80\x02" + enc(value) + b"."


def make_refmatte(root: Path) -> Path:
    """RefMatte with 2 train and 1 test images, two instances each."""
    for split, images in (("train", ("animal_0001", "human_0002")), ("test", ("object_0003",))):
        labels = {}
        for i, name in enumerate(images):
            write_image(root / split / "img" / f"{name}.jpg", seed=i)
            for k in range(2):
                instance = f"{name}_{k}"
                write_matte(root / split / "mask" / f"{instance}.png", seed=10 * i + k)
                labels[instance] = {"image_name": name, "keyword": "thing",
                                    "expressions": [f"{split} {instance} expression {e}" for e in range(4)]}
        (root / split / f"refmatte_{split}_label.json").write_text(json.dumps(labels))
    return root


def make_rw100(root: Path) -> Path:
    """RefMatte-RW100: images by name, one mask per instance, the label and index JSONs."""
    labels = {}
    for i, name in enumerate(("rw_001", "rw_002")):
        write_pair(root / "image" / f"{name}.jpg", root / "mask" / f"{name}_0.png", seed=i)
        labels[f"{name}_0"] = {"image_name": name, "expressions": [f"rw {name} {e}" for e in range(4)]}
    (root / "refmatte_rw100_label.json").write_text(json.dumps(labels))
    (root / "eval_index_expression.json").write_text(json.dumps({"rw_001": 2, "rw_002": 0}))
    return root


def make_refcoco(refer: Path) -> Path:
    """refer/data/refcoco with one referred person per split (plus an excluded bottle)."""
    data = refer / "data"
    images, annotations, refs = [], [], []
    for i, split in enumerate(REFCOCO_SPLITS):
        image_id, file_name = 1000 + i, f"COCO_train2014_{1000 + i:012d}.jpg"
        write_image(data / "images/mscoco/images/train2014" / file_name, seed=i)
        ys, xs = np.nonzero(box(i))
        x0, y0, x1, y1 = float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())
        images.append({"id": image_id, "file_name": file_name, "height": 48, "width": 64})
        annotations.append({"id": 10 + i, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                            "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]], "area": (x1 - x0) * (y1 - y0),
                            "bbox": [x0, y0, x1 - x0, y1 - y0]})
        annotations.append({"id": 20 + i, "image_id": image_id, "category_id": 44, "iscrowd": 0,
                            "segmentation": [[1.0, 1.0, 9.0, 1.0, 9.0, 9.0]], "area": 32.0,
                            "bbox": [1.0, 1.0, 8.0, 8.0]})
        for ann_id, word in ((10 + i, "person"), (20 + i, "bottle")):
            refs.append({"ref_id": ann_id, "ann_id": ann_id, "image_id": image_id, "category_id": 1 if word == "person" else 44,
                         "split": split, "file_name": f"COCO_train2014_{image_id:012d}_{ann_id}.jpg",
                         "sent_ids": [ann_id], "sentences": [{"sent": f"{split} {word}", "raw": f"{split} {word}.",
                                                              "tokens": [split, word], "sent_id": ann_id}]})
    root = data / "refcoco"
    root.mkdir(parents=True)
    (root / "instances.json").write_text(json.dumps({
        "images": images, "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "supercategory": "person"},
                       {"id": 44, "name": "bottle", "supercategory": "kitchen"}]}))
    (root / "refs(unc).p").write_bytes(py2_pickle(refs))
    (root / "refs(google).p").write_bytes(py2_pickle([{**r, "split": "train"} for r in refs]))
    return root


def make_p3m(root: Path) -> Path:
    for i in range(2):
        write_pair(root / "train/blurred_image" / f"p_{i}.jpg", root / "train/mask" / f"p_{i}.png", seed=i)
        write_image(root / "train/fg_blurred" / f"p_{i}.jpg", seed=i)
        write_image(root / "train/bg" / f"p_{i}.jpg", seed=i + 3)
    write_pair(root / "validation/P3M-500-P/blurred_image/p_test_1.jpg",
               root / "validation/P3M-500-P/mask/p_test_1.png", seed=5)
    write_pair(root / "validation/P3M-500-NP/original_image/np_test_1.jpg",
               root / "validation/P3M-500-NP/mask/np_test_1.png", seed=6)
    for sub in ("P3M-500-P", "P3M-500-NP"):
        (root / "validation" / sub / "trimap").mkdir()
    return root


def make_am2k(root: Path) -> Path:
    for i in range(2):
        write_pair(root / "train/original" / f"m_{i}.jpg", root / "train/mask" / f"m_{i}.png", seed=i)
        write_image(root / "train/fg" / f"m_{i}.png", seed=i)
    write_pair(root / "validation/original/m_test.jpg", root / "validation/mask/m_test.png", seed=7)
    (root / "validation/trimap").mkdir()
    return root


def make_rm1k(root: Path) -> Path:
    for i in range(2):
        write_pair(root / "image" / f"r_{i}.jpg", root / "mask" / f"r_{i}.png", seed=i)
    return root


def make_all(base: Path) -> dict[str, Path]:
    """Every training set of the paper under ``base``; -> {spec name: path for the SPEC}."""
    return {"refmatte": make_refmatte(base / "RefMatte"), "refcoco": make_refcoco(base / "refer"),
            "p3m": make_p3m(base / "P3M-10k"), "am2k": make_am2k(base / "AM-2k"),
            "rm1k": make_rm1k(base / "RM-1k")}
