"""Drawing layer of the synthetic generator: a :class:`Sketch` of primitives in world
units, rendered with cv2 into an alpha patch and a part map, and coloured per part.

A family function (``tdm.data.families``) fills a Sketch; ``render_sketch`` draws it at a
given pixel scale, ``colour_parts`` paints it, ``grow_fur`` adds strands along its edge.
Parts name colour roles (``MAIN`` takes the instance's colour word and surface pattern)
and carry an opacity (glass bodies, car windows and spokes are see-through).
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
    "clear": (0.88, 0.93, 0.97), "black and white": (0.95, 0.95, 0.95),
}
# colour words a viewer could mix up: an absent-colour prompt avoids every one of them
CONFUSABLE = {frozenset(p) for p in (("red", "orange"), ("red", "pink"), ("orange", "yellow"),
              ("orange", "golden"), ("yellow", "golden"), ("brown", "golden"), ("brown", "orange"),
              ("white", "gray"), ("gray", "black"), ("blue", "purple"), ("pink", "purple"),
              ("black and white", "white"), ("black and white", "black"), ("black and white", "gray"),
              ("clear", "white"), ("clear", "gray"))}

# part roles: colour source of each part of a sketch
MAIN, SHADE, DARK, LIGHT, SKIN, HAIR, ACCENT, METAL, GLASS, GREEN, CENTRE, TRUNK = range(1, 13)
SHIFT = 4  # cv2 sub-pixel bits
_ONE = 1 << SHIFT


@dataclass
class ObjectPatch:
    """One rendered instance: alpha (h,w) in [0,1], rgb (h,w,3) in [0,1], words for its
    text, and the shape family and surface pattern ("plain" or "kind/variant") it was
    drawn from."""

    category: str
    alpha: np.ndarray
    rgb: np.ndarray
    colour: str
    attributes: set[str] = field(default_factory=set)
    family: str = ""
    pattern: str = "plain"


@dataclass
class Sketch:
    """Primitives in world units (x right, y down). ``opacity`` maps a part to its alpha
    (1 when absent); ``fur`` is (length in world units, strands per outline pixel, the
    parts they grow from or None for all) of strands grown from the outline."""

    items: list[tuple] = field(default_factory=list)
    opacity: dict[int, float] = field(default_factory=dict)
    fur: tuple[float, float, set[int] | None] | None = None

    def circle(self, c, r, part=MAIN) -> None:
        self.items.append(("circle", part, (float(c[0]), float(c[1])), float(r)))

    def ellipse(self, c, ax, ay, angle=0.0, part=MAIN) -> None:
        self.items.append(("ellipse", part, (float(c[0]), float(c[1])), float(ax), float(ay), float(angle)))

    def poly(self, pts, part=MAIN) -> None:
        self.items.append(("poly", part, np.asarray(pts, np.float32)))

    def capsule(self, p, q, r0, r1=None, part=MAIN) -> None:
        """A limb from p to q, radius r0 at p tapering to r1 at q, round ends."""
        p, q = np.asarray(p, np.float32), np.asarray(q, np.float32)
        r1 = r0 if r1 is None else r1
        d = q - p
        n = np.array([-d[1], d[0]], np.float32) / (float(np.hypot(*d)) + 1e-6)
        self.poly([p + n * r0, q + n * r1, q - n * r1, p - n * r0], part)
        self.circle(p, r0, part)
        self.circle(q, r1, part)

    def lines(self, segs, width, part=MAIN) -> None:
        """Many straight strokes of one ``width``: segs (N,2,2) of (start, end) points."""
        self.items.append(("lines", part, np.asarray(segs, np.float32).reshape(-1, 2, 2), float(width)))

    def ring(self, c, r, width, part=MAIN) -> None:
        self.items.append(("ring", part, (float(c[0]), float(c[1])), float(r), float(width)))

    def bounds(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of everything drawn, in world units."""
        xs0, ys0, xs1, ys1 = [], [], [], []
        for it in self.items:
            kind = it[0]
            if kind in ("poly", "lines"):
                pts = it[2].reshape(-1, 2)
                pad = 0.0 if kind == "poly" else it[3] / 2
                (x0, y0), (x1, y1) = pts.min(0) - pad, pts.max(0) + pad
            else:
                pad = max(it[3], it[4]) if kind == "ellipse" else it[3] + (it[4] / 2 if kind == "ring" else 0)
                (x, y) = it[2]
                x0, y0, x1, y1 = x - pad, y - pad, x + pad, y + pad
            xs0.append(x0), ys0.append(y0), xs1.append(x1), ys1.append(y1)
        return float(min(xs0)), float(min(ys0)), float(max(xs1)), float(max(ys1))


def render_sketch(sk: Sketch, scale: float, soft: float = 0.0,
                  bounds: tuple[float, float, float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``sk`` at ``scale`` px per world unit (``bounds``: ``sk.bounds()`` if known).
    Returns alpha (h,w) float32 (coverage times part opacity, Gaussian-softened by
    ``soft`` px) and parts (h,w) uint8 (the role of each pixel, 0 outside; edge pixels
    take a neighbour's role)."""
    x0, y0, x1, y1 = bounds or sk.bounds()
    pad = 2 + int(np.ceil(2 * soft))
    w = max(4, int(np.ceil((x1 - x0) * scale)) + 2 * pad)
    h = max(4, int(np.ceil((y1 - y0) * scale)) + 2 * pad)
    ox, oy = x0 - pad / scale, y0 - pad / scale
    origin = np.array([ox, oy], np.float32)
    k = scale * _ONE
    cover = {}  # opacity -> coverage mask
    parts = np.zeros((h, w), np.uint8)

    def fix(pts):  # world -> fixed-point pixels
        return np.round((pts - origin) * scale * _ONE).astype(np.int32)

    for it in sk.items:
        kind, part = it[0], it[1]
        op = sk.opacity.get(part, 1.0)
        m = cover.get(op)
        if m is None:
            m = cover[op] = np.zeros((h, w), np.uint8)
        if kind in ("circle", "ellipse", "ring"):
            c = (int(round((it[2][0] - ox) * k)), int(round((it[2][1] - oy) * k)))
        else:
            pts = fix(it[2])
        for img, val, aa in ((m, 255, cv2.LINE_AA), (parts, part, cv2.LINE_8)):
            if kind == "poly":
                cv2.fillPoly(img, [pts], val, aa, SHIFT)
            elif kind == "circle":
                cv2.circle(img, c, max(_ONE // 2, int(it[3] * scale * _ONE)), val, -1, aa, SHIFT)
            elif kind == "ellipse":
                axes = (max(1, int(it[3] * scale * _ONE)), max(1, int(it[4] * scale * _ONE)))
                cv2.ellipse(img, c, axes, it[5], 0, 360, val, -1, aa, SHIFT)
            elif kind == "ring":
                t = max(1, int(round(it[4] * scale)))
                cv2.circle(img, c, max(_ONE, int(it[3] * scale * _ONE)), val, t, aa, SHIFT)
            else:  # lines
                cv2.polylines(img, list(pts), False, val, max(1, int(round(it[3] * scale))), aa, SHIFT)
    alpha = np.zeros((h, w), np.float32)
    for op, m in cover.items():
        np.maximum(alpha, m.astype(np.float32) * (op / 255.0), out=alpha)
    if soft > 0.3:
        alpha = cv2.GaussianBlur(alpha, (0, 0), soft)
    empty = parts == 0
    if empty.any():
        grown = cv2.dilate(parts, np.ones((3, 3), np.uint8), iterations=2 + int(soft))
        parts = np.where(empty, grown, parts)
    return alpha, parts


def grow_fur(alpha: np.ndarray, parts: np.ndarray, rng: np.random.Generator, length: float,
             density: float, roots: set[int] | None = None) -> np.ndarray:
    """Strands of ``length`` px grown outwards from the outline (of the ``roots`` parts
    only, when given), vectorised: one cv2 call per opacity level. Returns the new alpha;
    ``parts`` is extended in place."""
    solid = (alpha > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(solid, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours or length < 1.5:
        return alpha
    pts = np.concatenate([c[:, 0] for c in contours])
    if roots is not None:
        pts = pts[np.isin(parts[pts[:, 1], pts[:, 0]], list(roots))]
    pts = pts.astype(np.float32)
    n = int(len(pts) * density)
    if n == 0:
        return alpha
    pts = pts[rng.integers(0, len(pts), n)]
    smooth = cv2.GaussianBlur(solid.astype(np.float32), (0, 0), 2.0)
    gy, gx = np.gradient(smooth)
    yi, xi = pts[:, 1].astype(int), pts[:, 0].astype(int)
    ang = np.arctan2(-gy[yi, xi], -gx[yi, xi]) + rng.normal(0, 0.45, n)
    ln = length * rng.uniform(0.35, 1.0, n)
    bend = rng.normal(0, 0.35, n)
    mid = pts + np.stack([np.cos(ang), np.sin(ang)], 1) * (ln * 0.5)[:, None]
    end = mid + np.stack([np.cos(ang + bend), np.sin(ang + bend)], 1) * (ln * 0.5)[:, None]
    strands = np.round(np.stack([pts, mid, end], 1) * _ONE).astype(np.int32)
    layer = np.zeros_like(solid)
    level = rng.integers(0, 3, n)
    for k, value in enumerate((110, 170, 235)):
        sel = strands[level == k]
        if len(sel):
            cv2.polylines(layer, list(sel), False, value, 1, cv2.LINE_AA, SHIFT)
    out = np.maximum(alpha, layer.astype(np.float32) / 255.0)
    new = (parts == 0) & (layer > 0)
    if new.any():  # strands take the role of the body part they grow from
        parts[new] = cv2.dilate(parts, np.ones((3, 3), np.uint8), iterations=int(length) + 1)[new]
    return out


def shading(h: int, w: int, rng: np.random.Generator, strength: float = 0.08) -> np.ndarray:
    """(h,w) float32 multiplicative low-frequency shading around 1."""
    light = cv2.resize(rng.standard_normal((4, 4), dtype=np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return light * np.float32(strength) + np.float32(1.0)


def colour_parts(parts: np.ndarray, roles: dict[int, np.ndarray], base: np.ndarray,
                 main: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """rgb (h,w,3) float32 in [0,1]: the MAIN colour (``main`` (h,w,3) when patterned,
    else ``base`` RGB) where the part is MAIN, 0.7 of it where SHADE, the RGB of
    ``roles[part]`` elsewhere, shaded."""
    h, w = parts.shape
    lut = np.zeros((256, 3), np.float32)
    for part, rgb in roles.items():
        lut[part] = rgb
    lut[MAIN], lut[SHADE] = base, base * 0.7
    rgb = lut[parts]
    if main is not None:
        np.copyto(rgb, main, where=(parts == MAIN)[..., None])
        np.copyto(rgb, main * np.float32(0.7), where=(parts == SHADE)[..., None])
    rgb *= shading(h, w, rng)[..., None]
    return np.clip(rgb, 0, 1, out=rgb)
