"""Object instances of the synthetic generator: vocabulary (categories, colours, patterns)
and the two steps of making one, ``design_object`` (category, family, colour, pattern,
sketch: cheap, gives the shape's proportions) and ``render_object`` (pixels at a scale).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import splits
from .families import FAMILIES
from .patterns import WORD, paint
from .shapes import (ACCENT, CENTRE, DARK, GLASS, GREEN, HAIR, LIGHT, METAL, PALETTE, SKIN, TRUNK,
                     ObjectPatch, Sketch, colour_parts, grow_fur, render_sketch)

SUPERCATEGORY = {
    "zebra": "animal", "horse": "animal", "dog": "animal", "cat": "animal", "sheep": "animal",
    "bird": "animal", "person": "person", "car": "vehicle", "bus": "vehicle", "bicycle": "vehicle",
    "ball": "object", "chair": "object", "glass": "object", "bottle": "object",
    "flower": "plant", "tree": "plant",
}
CATEGORIES = tuple(SUPERCATEGORY)
CATEGORY_COLOURS = {
    "zebra": ("black and white",), "horse": ("brown", "black", "white", "gray", "golden"),
    "dog": ("brown", "black", "white", "golden", "gray"), "cat": ("orange", "gray", "black", "white"),
    "sheep": ("white", "black", "gray"), "bird": ("red", "blue", "yellow", "green", "black", "white"),
    "person": ("red", "blue", "green", "yellow", "black", "white", "purple", "orange"),
    "car": ("red", "blue", "yellow", "green", "black", "white", "gray", "orange"),
    "bus": ("yellow", "red", "blue", "white", "green"),
    "bicycle": ("red", "blue", "black", "green", "yellow", "pink"),
    "ball": ("red", "blue", "yellow", "green", "orange", "white", "purple", "pink"),
    "chair": ("brown", "black", "white", "red", "blue", "green"),
    "glass": ("clear",), "bottle": ("green", "brown", "blue", "clear"),
    "flower": ("red", "yellow", "pink", "purple", "white", "orange", "blue"),
    "tree": ("green", "yellow", "red"),
}
# surface pattern kinds a category is drawn with (repeats weight the draw)
CATEGORY_PATTERNS = {"zebra": ("stripes",), "cat": ("plain", "plain", "stripes"),
                     "horse": ("plain", "plain", "spots"), "dog": ("plain", "plain", "spots"),
                     "ball": ("plain", "stripes", "spots"), "bird": ("plain", "plain", "spots")}
TRANSPARENT = ("glass", "bottle")
_SKIN = ((0.87, 0.68, 0.55), (0.72, 0.52, 0.38), (0.45, 0.3, 0.2), (0.95, 0.8, 0.7))
_HAIR = ((0.06, 0.05, 0.05), (0.3, 0.18, 0.08), (0.8, 0.65, 0.3), (0.6, 0.6, 0.6))


@dataclass
class Design:
    """An instance before rendering: its words, its sketch and the colours of its parts."""

    category: str
    family: str
    colour: str
    pattern: str
    variant: str
    sketch: Sketch
    roles: dict[int, np.ndarray]
    base: np.ndarray
    dark: np.ndarray
    bounds: tuple[float, float, float, float]

    @property
    def attributes(self) -> set[str]:
        words = {WORD[self.pattern]} if self.pattern in WORD else set()
        return words | ({"transparent"} if self.category in TRANSPARENT else set())

    def aspect(self) -> float:
        """Height / width of the drawn shape."""
        x0, y0, x1, y1 = self.bounds
        return (y1 - y0) / max(x1 - x0, 1e-6)


def _pick(options, rng):
    return options[int(rng.integers(len(options)))]


def _rgb(v) -> np.ndarray:
    return np.asarray(v, np.float32)


def _roles(category: str, base: np.ndarray, rng) -> dict[int, np.ndarray]:
    other = _rgb(PALETTE[_pick(("red", "blue", "yellow", "white", "black", "green", "orange"), rng)])
    roles = {DARK: _rgb((0.08, 0.07, 0.07)), LIGHT: base * 0.35 + 0.65, METAL: _rgb((0.72, 0.73, 0.75)),
             GLASS: _rgb((0.55, 0.65, 0.75)), GREEN: _rgb((0.16, 0.52, 0.2)), TRUNK: _rgb((0.4, 0.26, 0.12)),
             CENTRE: _rgb(PALETTE["yellow"] if rng.random() < 0.7 else PALETTE["brown"]),
             SKIN: _rgb(_pick(_SKIN, rng)), HAIR: _rgb(_pick(_HAIR, rng)), ACCENT: other}
    if category == "person":
        roles[ACCENT] = _rgb(PALETTE[_pick(("blue", "black", "gray", "brown"), rng)])
    elif category == "horse":
        roles[HAIR] = base * 0.4
    elif category == "bird":
        roles[ACCENT] = _rgb(PALETTE[_pick(("orange", "yellow"), rng)])
    elif category == "glass":
        roles[ACCENT] = _rgb(_pick(((0.5, 0.05, 0.12), (0.9, 0.7, 0.2), (0.7, 0.85, 0.95)), rng))
    elif category in ("car", "bus"):
        roles[LIGHT] = _rgb((1.0, 0.95, 0.7))
    return roles


def design_object(category: str, rng: np.random.Generator, split: str = "train",
                  family: str | None = None, colour: str | None = None) -> Design:
    """A random ``category`` instance of a ``split`` family (or the given one)."""
    family = family or _pick(splits.families(category, split), rng)
    colour = colour or _pick(CATEGORY_COLOURS[category], rng)
    pattern = _pick(CATEGORY_PATTERNS.get(category, ("plain",)), rng)
    variant = _pick(splits.pattern_variants(pattern, split), rng) if pattern != "plain" else ""
    sk = Sketch()
    FAMILIES[category][family](sk, rng)
    base = (_rgb(PALETTE[colour]) + rng.uniform(-0.04, 0.04, 3).astype(np.float32)).clip(0, 1)
    if category == "zebra":
        dark = _rgb(PALETTE["black"])
    elif pattern == "stripes" and category != "ball":
        dark = base * 0.45
    else:
        dark = _rgb(PALETTE[_pick(tuple(c for c in ("black", "white", "brown") if c != colour), rng)])
    return Design(category, family, colour, pattern, variant, sk, _roles(category, base, rng), base, dark, sk.bounds())


def render_object(d: Design, height: int, rng: np.random.Generator, mirror: bool = False,
                  angle: float = 0.0) -> ObjectPatch:
    """Pixels of ``d`` with the shape ``height`` px tall, mirrored (facing left) and
    rotated by ``angle`` degrees when asked."""
    x0, y0, x1, y1 = d.bounds
    scale = max(4.0, float(height)) / max(y1 - y0, 1e-6)
    soft = float(rng.uniform(0.2, 0.9))
    alpha, parts = render_sketch(d.sketch, scale, soft, d.bounds)
    if d.sketch.fur:
        length, density, roots = d.sketch.fur
        alpha = grow_fur(alpha, parts, rng, length * scale, density, roots)
    main = paint(d.pattern, d.variant, alpha.shape, d.base, d.dark, rng) if d.pattern != "plain" else None
    rgb = colour_parts(parts, d.roles, d.base, main, rng)
    pattern = f"{d.pattern}/{d.variant}" if d.variant else d.pattern
    patch = ObjectPatch(d.category, alpha.clip(0, 1), rgb, d.colour, d.attributes, d.family, pattern)
    return transform_patch(patch, mirror, angle)


def draw_object(category: str, rng: np.random.Generator, height: int, split: str = "train",
                family: str | None = None) -> ObjectPatch:
    """One ``category`` instance ``height`` pixels tall (width from its shape)."""
    return render_object(design_object(category, rng, split, family), height, rng)


def transform_patch(patch: ObjectPatch, flip: bool, angle: float) -> ObjectPatch:
    """Mirror (facing left) and rotate by ``angle`` degrees, growing the patch to fit."""
    alpha, rgb = patch.alpha, patch.rgb
    if flip:
        alpha, rgb = alpha[:, ::-1], rgb[:, ::-1]
    if abs(angle) > 0.5:  # one 4-channel warp for colour and alpha
        h, w = alpha.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        cos, sin = abs(m[0, 0]), abs(m[0, 1])
        nw, nh = int(h * sin + w * cos) + 2, int(h * cos + w * sin) + 2
        m[0, 2] += nw / 2 - w / 2
        m[1, 2] += nh / 2 - h / 2
        out = cv2.warpAffine(np.dstack([rgb, alpha]), m, (nw, nh), flags=cv2.INTER_LINEAR)
        rgb, alpha = out[..., :3], out[..., 3]
    return ObjectPatch(patch.category, np.ascontiguousarray(alpha), np.ascontiguousarray(rgb), patch.colour,
                       set(patch.attributes), patch.family, patch.pattern)
