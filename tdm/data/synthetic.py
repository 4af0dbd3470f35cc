"""Procedural referring-matting data: scenes of several objects over textured backgrounds,
one target instance per sample with its GT alpha and a referring text, and short moving
clips with per-frame GT. Deterministic: the same seed gives identical arrays.

Vocabulary (categories, colours, attributes, positions) is listed in docs/DATASETS.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch.utils.data import Dataset

from .augment import as_size, degrade
from .phrases import InstanceInfo, describe
from .sample import Sample, item_rng, make_sample
from .shapes import ASPECT, CATEGORIES, ObjectPatch, draw_object, transform_patch
from .textures import background

MIN_VISIBLE = 0.002  # a target must cover at least this fraction of the image


@dataclass
class Placed:
    """A rendered object at top-left (x, y) in pixels (may be partly outside the frame)."""

    patch: ObjectPatch
    x: float
    y: float


@dataclass
class Scene:
    """image (H,W,3) uint8; alphas (N,H,W) float32 visible alpha of each instance after
    occlusion by those in front; infos the layout facts for referring texts."""

    image: np.ndarray
    alphas: np.ndarray
    infos: list[InstanceInfo]


def _choose_categories(rng, n: int, categories: tuple[str, ...]) -> list[str]:
    """``n`` categories; half the scenes repeat one so that positions must disambiguate."""
    cats = [categories[int(rng.integers(len(categories)))] for _ in range(n)]
    if n >= 2 and rng.random() < 0.5:
        cats[1] = cats[0]
    return cats


def _make_object(rng, category: str, h: int) -> ObjectPatch:
    """Random scale (large scale range), pose (mirror, rotation) for one instance."""
    scale = rng.uniform(0.15, 0.6) * (1.4 if ASPECT[category] > 1.5 else 1.0)
    angle = rng.normal(0, 30 if category == "ball" else 8)
    patch = draw_object(category, rng, int(h * min(scale, 0.9)))
    return transform_patch(patch, flip=bool(rng.random() < 0.5), angle=float(angle))


def _paste(canvas: np.ndarray, layer: np.ndarray, x: float, y: float) -> None:
    """Write ``layer`` (h,w[,c]) into ``canvas`` at top-left (x, y), clipped to the canvas."""
    H, W = canvas.shape[:2]
    h, w = layer.shape[:2]
    x0, y0 = int(round(x)), int(round(y))
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    canvas[cy0:cy1, cx0:cx1] = layer[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]


def render(bg: np.ndarray, objects: list[Placed]) -> tuple[np.ndarray, np.ndarray]:
    """Composite ``objects`` (back to front) over ``bg`` (H,W,3) float in [0,1].

    Returns image (H,W,3) uint8 and visible alphas (N,H,W): alpha_i * prod(1 - alpha_j)
    over the objects j in front of i."""
    H, W = bg.shape[:2]
    image = bg.astype(np.float32).copy()
    alphas = np.zeros((len(objects), H, W), np.float32)
    for i, obj in enumerate(objects):
        a = np.zeros((H, W), np.float32)
        rgb = np.zeros((H, W, 3), np.float32)
        _paste(a, obj.patch.alpha, obj.x, obj.y)
        _paste(rgb, obj.patch.rgb, obj.x, obj.y)
        image = rgb * a[..., None] + image * (1 - a[..., None])
        alphas[:i] *= 1 - a
        alphas[i] = a
    return (image * 255).round().clip(0, 255).astype(np.uint8), alphas


def layout_infos(objects: list[Placed], alphas: np.ndarray) -> list[InstanceInfo]:
    """Centre (alpha-weighted) and visible area of each instance, as image fractions."""
    H, W = alphas.shape[1:]
    ys, xs = np.arange(H, dtype=np.float32), np.arange(W, dtype=np.float32)
    infos = []
    for obj, a in zip(objects, alphas):
        total = float(a.sum())
        cx = float((a.sum(0) * xs).sum() / total / W) if total > 0 else -1.0
        cy = float((a.sum(1) * ys).sum() / total / H) if total > 0 else -1.0
        infos.append(InstanceInfo(obj.patch.category, obj.patch.colour, set(obj.patch.attributes), cx, cy, total / (H * W)))
    return infos


def _place(rng, patch: ObjectPatch, H: int, W: int) -> Placed:
    """Random position whose object centre lies inside the frame."""
    h, w = patch.alpha.shape
    return Placed(patch, rng.uniform(-0.3 * w, W - 0.7 * w), rng.uniform(-0.2 * h, H - 0.8 * h))


def make_scene(
    rng: np.random.Generator, size: int | tuple[int, int] = 512, max_objects: int = 4,
    categories: tuple[str, ...] = CATEGORIES,
) -> Scene:
    """A random scene of 1..max_objects instances over a textured background."""
    H, W = as_size(size)
    n = int(rng.integers(1, max_objects + 1))
    objects = [_place(rng, _make_object(rng, c, H), H, W) for c in _choose_categories(rng, n, categories)]
    image, alphas = render(background(rng, (H, W)), objects)
    return Scene(image, alphas, layout_infos(objects, alphas))


def pick_target(scene: Scene, rng: np.random.Generator) -> tuple[int, str]:
    """A visible target instance and a referring text for it (among visible instances)."""
    visible = [i for i, info in enumerate(scene.infos) if info.area >= MIN_VISIBLE]
    if not visible:
        visible = [int(np.argmax([info.area for info in scene.infos]))]
    target = visible[int(rng.integers(len(visible)))]
    infos = [scene.infos[i] for i in visible]
    return target, describe(infos, visible.index(target), rng)


class SyntheticMattingDataset(Dataset):
    """``length`` procedural samples at ``size`` (int or (h, w)); item ``i`` depends only
    on (seed, i). Any non-negative index works (beyond ``length`` too)."""

    name = "synthetic"

    def __init__(self, size: int | tuple[int, int] = 512, length: int = 10000, seed: int = 0,
                 max_objects: int = 4, categories: tuple[str, ...] = CATEGORIES, augment: bool = True):
        self.size, self.length, self.seed = as_size(size), int(length), int(seed)
        self.max_objects, self.categories, self.augment = max_objects, tuple(categories), augment

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Sample:
        rng = item_rng(self.seed, index)
        scene = make_scene(rng, self.size, self.max_objects, self.categories)
        target, text = pick_target(scene, rng)
        image = degrade(scene.image, rng) if self.augment else scene.image
        return make_sample(image, scene.alphas[target], text, self.name)


def _clip_objects(rng, H: int, W: int, T: int) -> tuple[list[Placed], np.ndarray, int]:
    """Objects, per-object velocity (N,2) in pixels/frame, and the target's index.

    The target sits under an occluder that crosses it mid-clip; objects may leave the frame."""
    n = int(rng.integers(2, 5))
    cats = _choose_categories(rng, n, CATEGORIES)
    objects = [_place(rng, _make_object(rng, c, H), H, W) for c in cats]
    vel = rng.uniform(-0.5, 0.5, (n, 2)) * np.array([W, H * 0.3]) / T
    target = int(rng.integers(n - 1))  # the last object is drawn in front
    occluder, t_obj = objects[-1], objects[target]
    tc = np.array([t_obj.x + t_obj.patch.alpha.shape[1] / 2, t_obj.y + t_obj.patch.alpha.shape[0] / 2])
    start = np.array([rng.choice([-0.3, 1.3]) * W, tc[1] + rng.uniform(-0.2, 0.2) * H])
    oh, ow = occluder.patch.alpha.shape
    occluder.x, occluder.y = start[0] - ow / 2, start[1] - oh / 2
    vel[-1] = (tc + vel[target] * T / 2 - start) / (T / 2)
    if rng.random() < 0.4:  # the target leaves the frame by the end
        vel[target, 0] = (1.6 * W if rng.random() < 0.5 else -1.6 * W) / T
    return objects, vel, target


def make_clip(seed: int, num_frames: int = 24, size: int | tuple[int, int] = (256, 256)
              ) -> tuple[np.ndarray, np.ndarray, str]:
    """A short moving clip: frames (T,H,W,3) uint8, target alphas (T,H,W) float32, text.

    Objects move linearly over a slowly panning background; an occluder crosses the
    target and the target may leave the frame (its alpha is then empty). The text is
    built from the first frame's layout."""
    rng = np.random.default_rng([int(seed), 7])
    H, W = as_size(size)
    T = int(num_frames)
    objects, vel, target = _clip_objects(rng, H, W, T)
    pan = int(W * 0.25)
    bg = background(rng, (H, W + pan))
    frames, alphas, text = [], [], ""
    for t in range(T):
        moved = [Placed(o.patch, o.x + vel[i, 0] * t, o.y + vel[i, 1] * t) for i, o in enumerate(objects)]
        off = int(round(pan * t / max(1, T - 1)))
        image, vis = render(bg[:, off:off + W], moved)
        if t == 0:
            infos = layout_infos(moved, vis)
            shown = [i for i, info in enumerate(infos) if info.area >= MIN_VISIBLE or i == target]
            text = describe([infos[i] for i in shown], shown.index(target), rng)
        frames.append(image)
        alphas.append(vis[target])
    return np.stack(frames), np.stack(alphas), text
