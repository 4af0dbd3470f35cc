"""Loaders for image matting layouts: RefMatte, and the caption-less sets P3M-10K, AM-2K,
RM-1K (image + alpha folders, texts from a captions JSON made by ``annotate.caption_images``).
Layouts are described in docs/DATASETS.md."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from media import list_images

from .io import find_subdir, index_by_stem, read_alpha, read_json
from .records import Record, RecordDataset, texts_of

IMAGE_DIRS = ("img", "image", "images", "original", "original_image", "blurred_image", "im", "fgr")
ALPHA_DIRS = ("mask", "alpha", "alphas", "matte", "mattes", "pha")
SPLIT_DIRS = {"train": ("train", "Train", "training"), "test": ("test", "Test", "validation", "val")}
# P3M-10K keeps its test images in sub-folders
P3M_TEST = ("validation/P3M-500-NP", "validation/P3M-500-P", "P3M-500-NP", "P3M-500-P")
DEFAULT_TEXT = {"p3m": "the person", "am2k": "the animal", "rm1k": "the foreground object"}
_NAME_KEYS = ("image", "img", "image_name", "img_name", "file_name", "filename")
_ALPHA_KEYS = ("alpha", "mask", "matte", "alpha_name", "mask_name", "alpha_path", "mask_path")
_TEXT_KEYS = ("expressions", "expression", "sentences", "phrases", "refs", "captions", "keyword", "keywords")


def split_dir(root: Path, split: str, extra: tuple[str, ...] = ()) -> Path:
    """``root/<split>`` (with the usual spellings), or root itself when it holds the folders."""
    for name in SPLIT_DIRS.get(split, (split,)) + extra:
        d = root / name
        if d.is_dir() and find_subdir(d, IMAGE_DIRS):
            return d
    if find_subdir(root, IMAGE_DIRS):
        return root
    raise FileNotFoundError(f"no image folder for split {split!r} under {root}")


def _first(d: dict, keys: tuple[str, ...]) -> Any:
    return next((d[k] for k in keys if k in d), None)


def _refmatte_entries(data: Any) -> list[tuple[str, dict]]:
    """(image name, instance dict) pairs from a list of records or a dict keyed by image or,
    as in the RefMatte release, by instance: ``{alpha stem: {"image_name": ..,
    "expressions": [..]}}`` (an instance without an alpha key takes its dict key). A
    record either is one instance or holds them under 'instances'/'objects'/'annotations'.
    Anything else (e.g. RW100's eval_index_expression.json, image -> int) yields nothing."""
    items = data.items() if isinstance(data, dict) else ((None, r) for r in data)
    out = []
    for key, rec in items:
        recs = rec if isinstance(rec, list) else [rec]
        for r in (r for r in recs if isinstance(r, dict)):
            name = _first(r, _NAME_KEYS) or key
            inner = _first(r, ("instances", "objects", "annotations"))
            if key is not None and inner is None and r is rec and _first(r, _ALPHA_KEYS) is None:
                r = {**r, "alpha": key}
            for inst in inner if isinstance(inner, list) else [r]:
                out.append((str(name), inst))
    return out


def refmatte_records(root: str | Path, split: str = "train", annotations: str | Path | None = None) -> list[Record]:
    """RefMatte: images, one alpha per instance, several expressions per instance. The
    expressions come from ``annotations``, else the first JSON in the split folder (then
    ``root/*<split>*.json``) that holds instances."""
    base = split_dir(Path(root), split)
    candidates = [Path(annotations)] if annotations else (
        sorted(base.glob("*.json")) + sorted(Path(root).glob(f"*{split}*.json")))
    entries = next(filter(None, (_refmatte_entries(read_json(p)) for p in candidates)), [])
    if not entries:
        raise FileNotFoundError(f"no RefMatte expressions json in {base} or {root}")
    images = index_by_stem(list_images(find_subdir(base, IMAGE_DIRS)))
    alpha_dir = find_subdir(base, ALPHA_DIRS)
    records = []
    for name, inst in entries:
        image = images.get(name) or images.get(Path(name).stem)  # names come with or without .jpg
        alpha_name = _first(inst, _ALPHA_KEYS)
        texts = texts_of(_first(inst, _TEXT_KEYS))
        if image is None or alpha_name is None or not texts:
            continue
        alpha = Path(alpha_name) if Path(alpha_name).is_absolute() else (alpha_dir or base) / alpha_name
        if not alpha.suffix:
            alpha = alpha.with_suffix(".png")
        records.append(Record(image, partial(read_alpha, alpha), tuple(texts)))
    return records


def folder_records(root: str | Path, split: str = "train", captions: str | Path | None = None,
                   default_text: str = "the foreground object") -> list[Record]:
    """Image + alpha folders matched by file stem (P3M-10K, AM-2K, RM-1K); texts from a
    captions JSON {image name or stem: caption or [captions]} (default: captions.json in
    the split folder or the root), else ``default_text``."""
    root = Path(root)
    base = split_dir(root, split, P3M_TEST if split == "test" else ())
    alpha_dir = find_subdir(base, ALPHA_DIRS)
    if alpha_dir is None:
        raise FileNotFoundError(f"no alpha folder ({'/'.join(ALPHA_DIRS)}) in {base}")
    alphas = index_by_stem(list_images(alpha_dir))
    cap_path = Path(captions) if captions else next(
        (p for p in (base / "captions.json", root / "captions.json") if p.is_file()), None)
    caps = {Path(k).stem: texts_of(v) for k, v in read_json(cap_path).items()} if cap_path else {}
    records = []
    for image in list_images(find_subdir(base, IMAGE_DIRS)):
        if image.stem in alphas:
            texts = caps.get(image.stem) or [default_text]
            records.append(Record(image, partial(read_alpha, alphas[image.stem]), tuple(texts)))
    return records


def open_refmatte(root, size=512, seed=0, split="train", augment=True, annotations=None) -> RecordDataset:
    return RecordDataset(refmatte_records(root, split, annotations), "refmatte", size, seed, augment,
                         composite=True)


def open_folder_set(name: str, root, size=512, seed=0, split="train", augment=True, captions=None) -> RecordDataset:
    """P3M-10K (``p3m``), AM-2K (``am2k``) or RM-1K (``rm1k``)."""
    records = folder_records(root, split, captions, DEFAULT_TEXT.get(name, "the foreground object"))
    return RecordDataset(records, name, size, seed, augment)
