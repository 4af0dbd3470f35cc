"""Which shape families, surface patterns and backgrounds each synthetic split draws from.

``train`` never sees what ``val`` and ``test`` hold out (and ``val`` and ``test`` hold out
different things), so figures on ``val``/``test`` measure generalisation to other
silhouettes, textures and backgrounds of the same categories and words. ``all`` draws
from everything. docs/DATASETS.md lists the same tables.
"""
from __future__ import annotations

from .families import FAMILIES

SPLITS = ("train", "val", "test", "all")

# per category: the families of val and test; every other family is train
_HELD_OUT = {
    "zebra": ("grazing", "lying"), "horse": ("grazing", "lying"), "dog": ("grazing", "lying"),
    "cat": ("grazing", "lying"), "sheep": ("grazing", "lying"), "bird": ("flying", "wading"),
    "person": ("arms_up", "running"), "car": ("van", "pickup"), "bus": ("double_decker", "minibus"),
    "bicycle": ("step_through", "tandem"), "ball": ("rugby", "panelled"), "chair": ("stool", "armchair"),
    "glass": ("tumbler", "mug"), "bottle": ("flask", "jug"), "flower": ("tulip", "star"),
    "tree": ("conifer", "palm"),
}
# surface pattern kind -> variant per split
PATTERNS = {
    "stripes": {"train": ("wavy",), "val": ("straight",), "test": ("broken",)},
    "spots": {"train": ("dots",), "val": ("blotches",), "test": ("rings",)},
}
BACKGROUNDS = {
    "train": ("noise", "gradient", "stripes", "checks", "dots", "landscape", "clutter", "clouds", "bands",
              "foliage"),
    "val": ("bokeh", "marble"),
    "test": ("bricks", "cells", "room"),
}


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown synthetic split {split!r}; known: {', '.join(SPLITS)}")
    return split


def families(category: str, split: str) -> tuple[str, ...]:
    """The shape families of ``category`` that ``split`` draws."""
    val, test = _HELD_OUT[category]
    every = tuple(FAMILIES[category])
    return {"train": tuple(f for f in every if f not in (val, test)), "val": (val,), "test": (test,),
            "all": every}[check_split(split)]


def pattern_variants(kind: str, split: str) -> tuple[str, ...]:
    table = PATTERNS[kind]
    return sum(table.values(), ()) if check_split(split) == "all" else table[split]


def backgrounds(split: str) -> tuple[str, ...]:
    return sum(BACKGROUNDS.values(), ()) if check_split(split) == "all" else BACKGROUNDS[split]
