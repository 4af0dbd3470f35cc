"""Procedural object silhouettes for the synthetic referring-matting generator.

``draw_object(category, rng, height)`` renders one instance facing right in a local
patch: an alpha (h,w) float32 in [0,1] with soft edges (and fur strands, whiskers, or
glass transparency where the category has them) and a colour layer (h,w,3) float32 in
[0,1]. Shapes are composed from cv2 polygons, ellipses and lines so that each category
word has a distinct look (four legs + stripes for a zebra, petals for a flower ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

# Colour words and their RGB values in [0,1] (the vocabulary of colour adjectives).
PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.12), "orange": (0.95, 0.55, 0.1), "yellow": (0.95, 0.88, 0.15),
    "green": (0.15, 0.65, 0.2), "blue": (0.15, 0.3, 0.85), "purple": (0.55, 0.2, 0.7),
    "pink": (0.95, 0.55, 0.7), "brown": (0.5, 0.3, 0.12), "black": (0.08, 0.08, 0.08),
    "white": (0.95, 0.95, 0.95), "gray": (0.5, 0.5, 0.52), "golden": (0.85, 0.65, 0.25),
}
SUPERCATEGORY = {
    "zebra": "animal", "horse": "animal", "dog": "animal", "cat": "animal", "bird": "animal",
    "person": "person", "ball": "object", "glass": "object", "bottle": "object", "flower": "plant",
}
CATEGORIES = tuple(SUPERCATEGORY)
# colours each category is drawn in (zebra: black and white stripes)
CATEGORY_COLOURS = {
    "zebra": ("black and white",), "horse": ("brown", "black", "white", "gray", "golden"),
    "dog": ("brown", "black", "white", "golden", "gray"), "cat": ("orange", "gray", "black", "white"),
    "bird": ("red", "blue", "yellow", "green", "black", "white"),
    "person": ("red", "blue", "green", "yellow", "black", "white", "purple", "orange"),
    "ball": ("red", "blue", "yellow", "green", "orange", "white", "purple", "pink"),
    "glass": ("clear",), "bottle": ("green", "brown", "blue", "clear"),
    "flower": ("red", "yellow", "pink", "purple", "white", "orange"),
}
# height / width of each category's patch
ASPECT = {"zebra": 0.8, "horse": 0.85, "dog": 0.75, "cat": 0.75, "bird": 0.85, "person": 2.4,
          "ball": 1.0, "glass": 1.6, "bottle": 2.6, "flower": 1.5}


@dataclass
class ObjectPatch:
    """One rendered instance: alpha (h,w) in [0,1], rgb (h,w,3) in [0,1], words for its text."""

    category: str
    alpha: np.ndarray
    rgb: np.ndarray
    colour: str
    attributes: set[str] = field(default_factory=set)


class _Canvas:
    """A local drawing surface in unit coordinates (u right, v down, both in [0,1])."""

    def __init__(self, h: int, w: int):
        self.h, self.w = h, w
        self.mask = np.zeros((h, w), np.uint8)

    def p(self, u: float, v: float) -> tuple[int, int]:
        return int(round(u * (self.w - 1))), int(round(v * (self.h - 1)))

    def ellipse(self, u, v, ru, rv, angle=0.0, img=None, value=255) -> None:
        axes = (max(1, int(ru * self.w)), max(1, int(rv * self.h)))
        cv2.ellipse(self.mask if img is None else img, self.p(u, v), axes, angle, 0, 360, value, -1, cv2.LINE_AA)

    def poly(self, pts, img=None, value=255) -> None:
        arr = np.array([self.p(u, v) for u, v in pts], np.int32)
        cv2.fillPoly(self.mask if img is None else img, [arr], value, cv2.LINE_AA)

    def line(self, pts, width: float, img=None, value=255) -> None:
        t = max(1, int(round(width * self.w)))
        for a, b in zip(pts[:-1], pts[1:]):
            cv2.line(self.mask if img is None else img, self.p(*a), self.p(*b), value, t, cv2.LINE_AA)

    def alpha(self) -> np.ndarray:
        return self.mask.astype(np.float32) / 255.0


def _shade(alpha_shape: tuple[int, int], colour: tuple[float, float, float], rng) -> np.ndarray:
    """Colour layer: the base colour with smooth low-frequency shading and slight grain."""
    h, w = alpha_shape
    small = rng.normal(0, 1, (4, 4)).astype(np.float32)
    light = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * 0.06
    grain = rng.normal(0, 0.015, (h, w)).astype(np.float32)
    base = np.asarray(colour, np.float32) + rng.uniform(-0.04, 0.04, 3).astype(np.float32)
    return (base[None, None] * (1 + light + grain)[..., None]).clip(0, 1)


def _fur(alpha: np.ndarray, rng, length: float, density: float, opacity=(0.4, 0.9)) -> np.ndarray:
    """Thin strands grown outwards from the silhouette's boundary (fur-like edges)."""
    h, w = alpha.shape
    binary = (alpha > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    strands = np.zeros((h, w), np.uint8)
    ys, xs = np.nonzero(binary)
    if not contours or len(ys) == 0:
        return alpha
    cy, cx = ys.mean(), xs.mean()
    pts = np.concatenate([c[:, 0] for c in contours])
    n = int(len(pts) * density)
    L = max(2.0, length * max(h, w))
    for k in rng.integers(0, len(pts), n):
        x, y = pts[k]
        ang = np.arctan2(y - cy, x - cx) + rng.normal(0, 0.5)
        ln = L * rng.uniform(0.4, 1.0)
        end = (int(x + np.cos(ang) * ln), int(y + np.sin(ang) * ln))
        cv2.line(strands, (int(x), int(y)), end, int(255 * rng.uniform(*opacity)), 1, cv2.LINE_AA)
    return np.maximum(alpha, strands.astype(np.float32) / 255.0)


def _stripes(h: int, w: int, rng, freq: float, angle: float) -> np.ndarray:
    """(h,w) {0,1} wavy stripes at ``freq`` stripes per patch width."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c, s = np.cos(angle), np.sin(angle)
    t = (xx * c + yy * s) / w * freq * 2 * np.pi + 0.8 * np.sin(yy / h * 6 + rng.uniform(0, 6))
    return (np.sin(t) > 0.1).astype(np.float32)


def _quadruped(c: _Canvas, rng, kind: str) -> None:
    """Body, neck, head, four legs, ears and tail; proportions per kind."""
    long_legs = kind in ("zebra", "horse")
    by, rx, ry = (0.42, 0.3, 0.15) if long_legs else (0.5, 0.28, 0.16)
    if kind == "cat":
        by, rx, ry = 0.55, 0.25, 0.13
    bx = 0.45
    c.ellipse(bx, by, rx, ry, rng.uniform(-5, 5))
    leg_top, leg_w = by + ry * 0.3, (0.05 if long_legs else 0.06)
    spread = rng.uniform(-0.04, 0.04)
    for i, du in enumerate((-0.75, -0.5, 0.5, 0.75)):
        u = bx + du * rx
        foot = u + (spread if i % 2 else -spread)
        c.line([(u, leg_top), (foot, 0.97)], leg_w)
    if long_legs:  # long neck up to an elongated head
        hx, hy = bx + rx + 0.12, by - 0.3
        c.poly([(bx + rx * 0.55, by - ry * 0.8), (bx + rx * 0.95, by + ry * 0.1), (hx + 0.02, hy + 0.05), (hx - 0.06, hy - 0.02)])
        c.ellipse(hx + 0.04, hy + 0.06, 0.11, 0.05, 55)
        c.poly([(hx - 0.04, hy - 0.03), (hx - 0.02, hy - 0.14), (hx + 0.01, hy - 0.02)])
        c.line([(bx - rx * 0.95, by - 0.02), (bx - rx - 0.06, by + 0.15), (bx - rx - 0.05, by + 0.3)], 0.025)
    else:
        hx, hy = bx + rx + 0.05, by - ry - 0.1
        c.ellipse(hx, hy, 0.12, 0.14)
        c.ellipse(hx + 0.1, hy + 0.05, 0.07, 0.06)  # snout
        if kind == "cat":
            c.poly([(hx - 0.09, hy - 0.06), (hx - 0.07, hy - 0.26), (hx + 0.0, hy - 0.1)])
            c.poly([(hx + 0.02, hy - 0.1), (hx + 0.08, hy - 0.26), (hx + 0.1, hy - 0.05)])
            c.line([(bx - rx * 0.9, by), (bx - rx - 0.08, by - 0.15), (bx - rx - 0.04, by - 0.35)], 0.04)
        else:
            c.ellipse(hx - 0.06, hy + 0.06, 0.04, 0.12, 15)  # floppy ear
            c.line([(bx - rx * 0.9, by - 0.02), (bx - rx - 0.06, by - 0.2)], 0.05)


def _bird(c: _Canvas, rng) -> np.ndarray:
    c.ellipse(0.45, 0.5, 0.28, 0.17, rng.uniform(-20, 5))
    c.ellipse(0.72, 0.3, 0.11, 0.12)
    c.poly([(0.8, 0.27), (0.97, 0.32), (0.8, 0.36)])  # beak
    c.poly([(0.2, 0.5), (0.0, 0.38), (0.02, 0.62)])   # tail fan
    c.line([(0.42, 0.62), (0.4, 0.9)], 0.015)
    c.line([(0.5, 0.62), (0.52, 0.9)], 0.015)
    wing = np.zeros_like(c.mask)
    lift = rng.uniform(-0.25, 0.05)
    c.poly([(0.3, 0.45), (0.6, 0.42), (0.35, 0.42 + lift)], img=wing)
    c.mask = np.maximum(c.mask, wing)
    return wing.astype(np.float32) / 255.0


def _person(c: _Canvas, rng) -> tuple[np.ndarray, np.ndarray]:
    """Returns (skin, legs) layers; the rest of the silhouette is the shirt."""
    skin, legs = np.zeros_like(c.mask), np.zeros_like(c.mask)
    c.ellipse(0.5, 0.09, 0.2, 0.075, img=skin)
    c.poly([(0.28, 0.2), (0.72, 0.2), (0.68, 0.56), (0.32, 0.56)])
    for side in (-1, 1):
        a = rng.uniform(0.1, 1.2)
        hand = (0.5 + side * (0.25 + 0.22 * np.sin(a)), 0.22 + 0.3 * np.cos(a))
        c.line([(0.5 + side * 0.2, 0.23), hand], 0.12)
        c.ellipse(hand[0], hand[1], 0.06, 0.022, img=skin)
        c.line([(0.5 + side * 0.1, 0.55), (0.5 + side * rng.uniform(0.08, 0.25), 0.98)], 0.16, img=legs)
    c.mask = np.maximum(np.maximum(c.mask, skin), legs)
    return skin.astype(np.float32) / 255.0, legs.astype(np.float32) / 255.0


def _flower(c: _Canvas, rng) -> tuple[np.ndarray, np.ndarray]:
    """Returns (stem+leaves, centre) layers; the rest is petals."""
    green, centre = np.zeros_like(c.mask), np.zeros_like(c.mask)
    top = (0.5 + rng.uniform(-0.1, 0.1), 0.3)
    c.line([(0.5, 1.0), (0.48, 0.65), top], 0.05, img=green)
    c.ellipse(0.38, 0.7, 0.12, 0.035, -30, img=green)
    n = int(rng.integers(5, 9))
    for k in range(n):
        ang = 2 * np.pi * k / n
        c.ellipse(top[0] + 0.2 * np.cos(ang), top[1] + 0.13 * np.sin(ang), 0.17, 0.07, np.degrees(ang))
    c.ellipse(top[0], top[1], 0.1, 0.07, img=centre)
    c.mask = np.maximum(np.maximum(c.mask, green), centre)
    return green.astype(np.float32) / 255.0, centre.astype(np.float32) / 255.0


def _glassware(c: _Canvas, rng, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Returns (body, rim) layers: the body is see-through, outlines and caps are opaque."""
    rim = np.zeros_like(c.mask)
    if kind == "glass":
        bowl = [(0.1, 0.02), (0.9, 0.02), (0.85, 0.35), (0.6, 0.55), (0.4, 0.55), (0.15, 0.35)]
        c.poly(bowl)
        c.line(bowl + [bowl[0]], 0.03, img=rim)
        c.line([(0.5, 0.55), (0.5, 0.92)], 0.06)
        c.ellipse(0.5, 0.94, 0.32, 0.04)
    else:
        body = [(0.1, 0.4), (0.3, 0.3), (0.35, 0.12), (0.65, 0.12), (0.7, 0.3), (0.9, 0.4), (0.9, 0.98), (0.1, 0.98)]
        c.poly(body)
        c.line(body + [body[0]], 0.03, img=rim)
        c.poly([(0.33, 0.0), (0.67, 0.0), (0.67, 0.12), (0.33, 0.12)], img=rim)  # cap
    c.line([(0.25, 0.1), (0.22, 0.45)], 0.05, img=rim, value=170)  # highlight
    c.mask = np.maximum(c.mask, rim)
    return c.alpha(), rim.astype(np.float32) / 255.0


def _pick_colour(category: str, rng) -> str:
    options = CATEGORY_COLOURS[category]
    return options[int(rng.integers(len(options)))]


def draw_object(category: str, rng: np.random.Generator, height: int) -> ObjectPatch:
    """Render one ``category`` instance ``height`` pixels tall (width from its aspect)."""
    h = max(8, int(height))
    w = max(8, int(round(h / ASPECT[category])))
    c = _Canvas(h, w)
    colour = _pick_colour(category, rng)
    attrs: set[str] = set()
    rgb_base = PALETTE.get(colour, (0.9, 0.93, 0.95))
    soft = rng.uniform(0.4, 1.2) * max(1.0, h / 256)
    if category in ("zebra", "horse", "dog", "cat"):
        _quadruped(c, rng, category)
        alpha = c.alpha()
        rgb = _shade((h, w), rgb_base if category != "zebra" else PALETTE["white"], rng)
        striped = category == "zebra" or (category in ("cat", "horse") and rng.random() < 0.3)
        if striped:
            dark = PALETTE["black"] if category == "zebra" else tuple(0.45 * np.array(rgb_base))
            s = _stripes(h, w, rng, rng.uniform(7, 11), rng.uniform(-0.4, 0.4))[..., None]
            rgb = rgb * (1 - s) + np.asarray(dark, np.float32) * s
            attrs.add("striped")
        alpha = cv2.GaussianBlur(alpha, (0, 0), soft)
        if category in ("dog", "cat"):
            alpha = _fur(alpha, rng, 0.05, 0.25)
            attrs.add("furry")
        elif category == "horse":
            alpha = _fur(alpha, rng, 0.03, 0.08)
    elif category == "bird":
        wing = _bird(c, rng)
        alpha = cv2.GaussianBlur(c.alpha(), (0, 0), soft)
        alpha = _fur(alpha, rng, 0.025, 0.1)
        rgb = _shade((h, w), rgb_base, rng) * (1 - 0.4 * wing[..., None])
    elif category == "person":
        skin, legs = _person(c, rng)
        shirt = _shade((h, w), rgb_base, rng)
        pants = _shade((h, w), PALETTE[("blue", "black", "gray", "brown")[int(rng.integers(4))]], rng)
        tone = _shade((h, w), (0.87, 0.68, 0.55) if rng.random() < 0.5 else (0.45, 0.3, 0.2), rng)
        rgb = shirt * (1 - legs[..., None]) + pants * legs[..., None]
        rgb = rgb * (1 - skin[..., None]) + tone * skin[..., None]
        head = np.zeros_like(c.mask)
        c.ellipse(0.5, 0.07, 0.19, 0.06, img=head)
        alpha = _fur(cv2.GaussianBlur(c.alpha(), (0, 0), soft), rng, 0.02, 0.05)
        hair = _fur(head.astype(np.float32) / 255.0, rng, 0.05, 0.8)
        alpha = np.maximum(alpha, hair)
        rgb = rgb * (1 - hair[..., None] * 0.8) + 0.1 * hair[..., None] * 0.8
    elif category == "ball":
        c.ellipse(0.5, 0.5, 0.48, 0.48)
        alpha = cv2.GaussianBlur(c.alpha(), (0, 0), soft)
        rgb = _shade((h, w), rgb_base, rng)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        light = 1.15 - 0.5 * np.hypot(xx / w - 0.35, yy / h - 0.35)
        rgb = (rgb * light[..., None]).clip(0, 1)
        if rng.random() < 0.35:
            s = _stripes(h, w, rng, 3, rng.uniform(0, np.pi))[..., None]
            rgb = rgb * (1 - s) + np.asarray(PALETTE["white"], np.float32) * s
            attrs.add("striped")
        if rng.random() < 0.2:
            alpha = alpha * rng.uniform(0.35, 0.6)
            attrs.add("transparent")
    elif category in ("glass", "bottle"):
        full, rim = _glassware(c, rng, category)
        body_alpha = rng.uniform(0.15, 0.35) if colour == "clear" else rng.uniform(0.35, 0.6)
        alpha = np.maximum(full * body_alpha, rim * rng.uniform(0.75, 0.95))
        alpha = cv2.GaussianBlur(alpha, (0, 0), soft * 0.7)
        rgb = _shade((h, w), rgb_base, rng)
        rgb = rgb * (1 - rim[..., None]) + np.minimum(rgb * 0.6 + 0.35, 1) * rim[..., None]
        attrs.add("transparent")
    elif category == "flower":
        green, centre = _flower(c, rng)
        alpha = cv2.GaussianBlur(c.alpha(), (0, 0), soft)
        rgb = _shade((h, w), rgb_base, rng)
        rgb = rgb * (1 - green[..., None]) + _shade((h, w), PALETTE["green"], rng) * green[..., None]
        rgb = rgb * (1 - centre[..., None]) + _shade((h, w), PALETTE["yellow" if colour != "yellow" else "brown"], rng) * centre[..., None]
    else:
        raise ValueError(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}")
    return ObjectPatch(category, alpha.astype(np.float32).clip(0, 1), rgb.astype(np.float32).clip(0, 1), colour, attrs)


def transform_patch(patch: ObjectPatch, flip: bool, angle: float) -> ObjectPatch:
    """Mirror (facing left) and rotate by ``angle`` degrees, growing the patch to fit."""
    alpha, rgb = patch.alpha, patch.rgb
    if flip:
        alpha, rgb = alpha[:, ::-1], rgb[:, ::-1]
    if abs(angle) > 0.5:
        h, w = alpha.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        cos, sin = abs(m[0, 0]), abs(m[0, 1])
        nw, nh = int(h * sin + w * cos) + 2, int(h * cos + w * sin) + 2
        m[0, 2] += nw / 2 - w / 2
        m[1, 2] += nh / 2 - h / 2
        alpha = cv2.warpAffine(np.ascontiguousarray(alpha), m, (nw, nh), flags=cv2.INTER_LINEAR)
        rgb = cv2.warpAffine(np.ascontiguousarray(rgb), m, (nw, nh), flags=cv2.INTER_LINEAR)
    return ObjectPatch(patch.category, np.ascontiguousarray(alpha), np.ascontiguousarray(rgb), patch.colour, set(patch.attributes))
