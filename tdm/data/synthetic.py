"""Procedural referring-matting data: scenes of several objects over varied backgrounds,
one target per sample with its GT alpha and a referring text, and short moving clips.

Half the scenes hold two or three instances of one category side by side (overlapping
at times), so that only the words (position, size, colour) tell which one is meant; one
sample in eight names something absent (target alpha all zero). Object sizes span
``EXTENT`` of the frame (the geometric mean of the box's sides against the frame's). ``split``
draws shape families, surface patterns and backgrounds from ``tdm.data.splits``.
Deterministic: the same seed gives identical arrays. Vocabulary: docs/DATASETS.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from torch.utils.data import Dataset

from . import phrases
from .augment import as_size, degrade
from .objects import CATEGORIES, SUPERCATEGORY, Design, design_object, render_object
from .phrases import InstanceInfo, Option, absent_expression, describe, render
from .sample import Sample, item_rng, make_sample
from .shapes import ObjectPatch
from .splits import check_split
from .textures import background

MIN_VISIBLE = 0.002   # a target covers at least this fraction of the image ...
MIN_SHOWN = 0.4       # ... and at least this fraction of itself (not hidden behind others)
TRACE = 0.0005        # instances with less visible area count as not in the picture
EXTENT = (0.1, 0.6)   # object size: sqrt(box height x width) as a fraction of the frame's
ABSENT = 0.125        # fraction of samples whose text names nothing in the scene
GROUP = 0.5           # fraction of scenes with 2-3 instances of one category


@dataclass
class Placed:
    """A rendered object at top-left (x, y) in pixels (may be partly outside the frame)."""

    patch: ObjectPatch
    x: float
    y: float


@dataclass
class Scene:
    """image (H,W,3) uint8; alphas (N,H,W) float32 visible alpha of each instance after
    occlusion by those in front; infos the layout facts for referring texts; group the
    indices of the instances of the repeated category (empty if none); background kind."""

    image: np.ndarray
    alphas: np.ndarray
    infos: list[InstanceInfo]
    patches: list[ObjectPatch]
    group: list[int] = field(default_factory=list)
    background: str = ""


def _choose(items, rng):
    return items[int(rng.integers(len(items)))]


def _designs(rng, max_objects: int, categories: tuple[str, ...], split: str
             ) -> tuple[list[Design], list[float], list[int]]:
    """Instances of a scene, their extents and the indices of the repeated-category group."""
    extent = lambda: float(rng.uniform(*EXTENT))  # noqa: E731
    if max_objects >= 2 and rng.random() < GROUP:
        k = 3 if max_objects >= 3 and rng.random() < 0.35 else 2
        cat = _choose(categories, rng)
        first = design_object(cat, rng, split)
        same = rng.random() < 0.5  # one colour for all: only position / size can tell them apart
        designs = [first] + [design_object(cat, rng, split, colour=first.colour if same else None) for _ in range(k - 1)]
        e = extent() * 0.8
        extents = [float(np.clip(e * rng.uniform(0.85, 1.15), *EXTENT)) for _ in range(k)]
        if rng.random() < 0.4:  # one clearly bigger
            big = int(rng.integers(k))
            extents = [min(EXTENT[1], x * (1.6 if i == big else 0.75)) for i, x in enumerate(extents)]
        others = [c for c in categories if c != cat] or list(categories)
        m = int(rng.integers(0, max_objects - k + 1))
        designs += [design_object(_choose(others, rng), rng, split) for _ in range(m)]
        extents += [extent() for _ in range(m)]
        return designs, extents, list(range(k))
    n = int(rng.integers(1, max_objects + 1))
    return [design_object(_choose(categories, rng), rng, split) for _ in range(n)], [extent() for _ in range(n)], []


def _height(d: Design, e: float, H: int, W: int) -> float:
    """Patch height in px for an object of extent ``e``: the geometric mean of its height
    and width fractions of the frame's, the larger side at most 0.95 of the frame."""
    a = d.aspect()  # h / w in px
    h = e * np.sqrt(H * W * a)
    return float(min(h, 0.95 * H, 0.95 * W * a))


def _layout(designs: list[Design], extents: list[float], group: list[int], rng, H: int, W: int
            ) -> list[tuple[float, float, float]]:
    """(height px, x, y of the top-left corner) per instance; the group side by side
    (or stacked, one time in four) with gaps from overlap to apart."""
    heights = [_height(d, e, H, W) for d, e in zip(designs, extents)]
    widths = [h / d.aspect() for d, h in zip(designs, heights)]
    out = [(h, rng.uniform(-0.1 * w, W - 0.9 * w), rng.uniform(-0.1 * h, H - 0.9 * h)) for h, w in zip(heights, widths)]
    if group:
        order = list(rng.permutation(group))
        stacked = rng.random() < 0.25
        along = [heights[i] if stacked else widths[i] for i in order]
        side = H if stacked else W
        gaps = [rng.uniform(-0.35, 0.3) * np.mean(along) for _ in order[1:]]
        total = sum(along) + sum(gaps)
        f = min(1.0, 0.96 * side / max(total, 1e-6))
        pos = rng.uniform(0, max(0.0, side - total * f))
        base = rng.uniform(0.5, 0.97)
        for k, i in enumerate(order):
            h, w = heights[i] * f, widths[i] * f
            if stacked:
                x = float(np.clip(base * W - w + rng.uniform(-0.05, 0.05) * W, -0.05 * w, W - 0.95 * w))
                out[i] = (h, x, pos)
                pos += h + (gaps[k] * f if k < len(gaps) else 0)
            else:
                y = float(np.clip(base * H - h + rng.uniform(-0.04, 0.04) * H, -0.05 * h, H - 0.95 * h))
                out[i] = (h, pos, y)
                pos += w + (gaps[k] * f if k < len(gaps) else 0)
    return out


def _paste_box(H: int, W: int, h: int, w: int, x: float, y: float):
    """(canvas slice, patch slice) of a patch at top-left (x, y), or None if outside."""
    x0, y0 = int(round(x)), int(round(y))
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    return (slice(cy0, cy1), slice(cx0, cx1)), (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))


def composite(bg: np.ndarray, objects: list[Placed]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Composite ``objects`` (back to front) over ``bg`` (H,W,3) float in [0,1], inside
    each object's box only. Returns image (H,W,3) uint8, visible alphas (N,H,W) (alpha_i
    times (1 - alpha_j) of every j in front) and each object's in-frame area before
    occlusion (N,) as fractions of the image."""
    H, W = bg.shape[:2]
    image = bg.astype(np.float32, copy=True)
    alphas = np.zeros((len(objects), H, W), np.float32)
    sizes = np.zeros(len(objects), np.float32)
    for i, obj in enumerate(objects):
        box = _paste_box(H, W, *obj.patch.alpha.shape, obj.x, obj.y)
        if box is None:
            continue
        (ys, xs), (py, px) = box
        a = obj.patch.alpha[py, px]
        image[ys, xs] += (obj.patch.rgb[py, px] - image[ys, xs]) * a[..., None]
        alphas[:i, ys, xs] *= 1 - a
        alphas[i, ys, xs] = a
        sizes[i] = float(a.sum()) / (H * W)
    return cv2.convertScaleAbs(image, alpha=255.0), alphas, sizes


def layout_infos(patches: list[ObjectPatch], alphas: np.ndarray, sizes: np.ndarray) -> list[InstanceInfo]:
    """Centre (alpha-weighted), visible area, size and visible box of each instance."""
    H, W = alphas.shape[1:]
    xs, ys = np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32)
    infos = []
    for p, a, size in zip(patches, alphas, sizes):
        col, row = a.sum(0), a.sum(1)
        total = float(col.sum())
        cx = float(col @ xs / total / W) if total > 0 else -1.0
        cy = float(row @ ys / total / H) if total > 0 else -1.0
        cols, rows = np.nonzero(col > 0.05)[0], np.nonzero(row > 0.05)[0]
        box = ((cols[0] / W, rows[0] / H, (cols[-1] + 1) / W, (rows[-1] + 1) / H)
               if len(cols) and len(rows) else (0.0, 0.0, 0.0, 0.0))
        infos.append(InstanceInfo(p.category, p.colour, set(p.attributes), cx, cy, total / (H * W), float(size),
                                  tuple(map(float, box))))
    return infos


def _render_patches(designs, layout, rng) -> list[Placed]:
    placed = []
    for d, (h, x, y) in zip(designs, layout):
        spin = 30 if d.category == "ball" else 6
        patch = render_object(d, int(round(h)), rng, mirror=bool(rng.random() < 0.5), angle=float(rng.normal(0, spin)))
        dh, dw = patch.alpha.shape[0] - h, patch.alpha.shape[1] - h / d.aspect()
        placed.append(Placed(patch, x - dw / 2, y - dh / 2))  # keep the centre where laid out
    return placed


def make_scene(rng: np.random.Generator, size: int | tuple[int, int] = 512, max_objects: int = 4,
               categories: tuple[str, ...] = CATEGORIES, split: str = "train") -> Scene:
    """A random scene of 1..max_objects instances over a background of ``split``."""
    H, W = as_size(size)
    designs, extents, group = _designs(rng, max_objects, tuple(categories), check_split(split))
    placed = _render_patches(designs, _layout(designs, extents, group, rng, H, W), rng)
    # nearer (lower bottom edge) objects are drawn later, mostly
    depth = [p.y + p.patch.alpha.shape[0] + rng.normal(0, 0.05 * H) for p in placed]
    order = list(np.argsort(depth, kind="stable"))
    placed = [placed[i] for i in order]
    group = sorted(order.index(i) for i in group)
    bg, kind = background(rng, (H, W), split)
    image, alphas, sizes = composite(bg, placed)
    patches = [p.patch for p in placed]
    return Scene(image, alphas, layout_infos(patches, alphas, sizes), patches, group, kind)


def _shown(infos: list[InstanceInfo]) -> list[int]:
    return [i for i, info in enumerate(infos) if info.area >= TRACE]


def pick_target(scene: Scene, rng: np.random.Generator, categories: tuple[str, ...] = CATEGORIES,
                absent: float = ABSENT, exclude: int | None = None, balance: bool = False
                ) -> tuple[int | None, str | None]:
    """(target index or None for an absent-object text, text); text None when no
    unambiguous phrase exists. Targets are well visible; group members are preferred;
    instance ``exclude`` is never the target (with none left, the text names something absent);
    ``balance``: kinds of text drawn evenly (``describe``)."""
    shown = _shown(scene.infos)
    infos = [scene.infos[i] for i in shown]
    if rng.random() < absent:
        return None, absent_expression(infos, categories, rng)
    ok = [k for k, i in enumerate(shown) if i != exclude
          and scene.infos[i].area >= MIN_VISIBLE and scene.infos[i].area >= MIN_SHOWN * scene.infos[i].size]
    first = [k for k in ok if shown[k] in scene.group] if rng.random() < 0.8 else []
    for k in list(rng.permutation(first)) + list(rng.permutation([k for k in ok if k not in first])):
        text = describe(infos, int(k), rng, balance=balance)
        if text:
            return shown[int(k)], text
    return None, absent_expression(infos, categories, rng)


class SyntheticMattingDataset(Dataset):
    """``length`` procedural samples at ``size`` (int or (h, w)) from ``split`` (train,
    val, test or all: see ``tdm.data.splits``); item ``i`` depends only on (seed, i).
    Any non-negative index works (beyond ``length`` too).

    ``pairs``: items ``2k`` and ``2k + 1`` show one scene with two different targets (two
    instances, or one and something absent), so that only the text tells their mattes
    apart; ``group_size`` (2) tells the sampler to keep them in one batch. ``balance``:
    the kinds of referring text (position, size, attribute, category) are drawn evenly
    where the layout allows them (``tdm.data.phrases.describe``); the default draws the
    held-out figures' texts."""

    name = "synthetic"

    def __init__(self, size: int | tuple[int, int] = 512, length: int = 10000, seed: int = 0,
                 max_objects: int = 4, categories: tuple[str, ...] = CATEGORIES, augment: bool = True,
                 split: str = "train", pairs: bool = False, balance: bool = False):
        self.size, self.length, self.seed = as_size(size), int(length), int(seed)
        self.max_objects, self.categories, self.augment = max_objects, tuple(categories), augment
        self.split = check_split(split)
        self.group_size = 2 if pairs else 1
        self.balance = balance

    def __len__(self) -> int:
        return self.length

    def scene(self, index: int) -> tuple[Scene, int | None, str]:
        """The scene of item ``index``, its target (None: absent object) and text."""
        rng = item_rng(self.seed, index // self.group_size)
        while True:
            scene = make_scene(rng, self.size, self.max_objects, self.categories, self.split)
            target, text = pick_target(scene, rng, self.categories, balance=self.balance)
            if not text:
                continue
            if self.group_size > 1:  # both members draw the pair's other target: a different one
                other = pick_target(scene, rng, self.categories, absent=0.0, exclude=target, balance=self.balance)
                if other[1] is None:
                    continue
                if index % self.group_size:
                    target, text = other
            return scene, target, text

    def __getitem__(self, index: int) -> Sample:
        scene, target, text = self.scene(index)
        alpha = scene.alphas[target] if target is not None else np.zeros(scene.image.shape[:2], np.float32)
        image = degrade(scene.image, np.random.default_rng([self.seed, index, 1])) if self.augment else scene.image
        return make_sample(image, alpha, text, self.name)


# ---- clips ---------------------------------------------------------------------------------
def _frames(placed: list[Placed], vel: np.ndarray, bg: np.ndarray, W: int, T: int):
    """Per frame: image, visible alphas and infos of the objects moving by ``vel`` (N,2)
    px/frame over ``bg`` panning left to right."""
    pan = bg.shape[1] - W
    for t in range(T):
        moved = [Placed(o.patch, o.x + vel[i, 0] * t, o.y + vel[i, 1] * t) for i, o in enumerate(placed)]
        off = int(round(pan * t / max(1, T - 1)))
        image, vis, sizes = composite(bg[:, off:off + W], moved)
        yield image, vis, layout_infos([o.patch for o in moved], vis, sizes)


def _key(o: Option) -> tuple:
    return o.noun, o.adjective, o.relation


def _valid_keys(infos: list[InstanceInfo], target: int) -> set[tuple]:
    """Options valid in one frame: those naming the target when it shows, else those
    (without relation) that match nothing shown, so an empty matte is right."""
    shown = _shown(infos)
    sub = [infos[i] for i in shown]
    if target in shown:
        return {_key(o) for o in phrases.options(sub, shown.index(target))}
    t = infos[target]
    nouns = (t.category, SUPERCATEGORY[t.category])
    return {(n, a, None) for n in nouns for a in [None, t.colour] + sorted(t.attributes)
            if not any(phrases.matches(b, n, a) for b in sub)}


def make_clip(seed: int, num_frames: int = 24, size: int | tuple[int, int] = (256, 256),
              split: str = "train") -> tuple[np.ndarray, np.ndarray, str]:
    """A short moving clip: frames (T,H,W,3) uint8, target alphas (T,H,W) float32, text.

    Objects move linearly (a repeated-category group together) over a panning background;
    an occluder crosses the target and the target may leave the frame (empty alpha). The
    text holds in every frame: an option that stops being unique is never chosen."""
    rng = np.random.default_rng([int(seed), 7])
    H, W = as_size(size)
    T = int(num_frames)
    while True:
        designs, extents, group = _designs(rng, 4, CATEGORIES, check_split(split))
        if len(designs) < 2:
            continue
        placed = _render_patches(designs, _layout(designs, extents, group, rng, H, W), rng)
        n = len(placed)
        vel = rng.uniform(-0.4, 0.4, (n, 2)) * np.array([W, H * 0.25]) / T
        if group:
            vel[group] = vel[group[0]]
        target = int(_choose(group, rng)) if group else int(rng.integers(n - 1))
        occluder = n - 1 if target != n - 1 and (n - 1) not in group else None
        if occluder is not None:  # the last object (drawn in front) crosses the target mid-clip
            t_obj, occ = placed[target], placed[occluder]
            tc = np.array([t_obj.x + t_obj.patch.alpha.shape[1] / 2, t_obj.y + t_obj.patch.alpha.shape[0] / 2])
            start = np.array([_choose([-0.3, 1.3], rng) * W, tc[1] + rng.uniform(-0.2, 0.2) * H])
            oh, ow = occ.patch.alpha.shape
            occ.x, occ.y = start[0] - ow / 2, start[1] - oh / 2
            vel[occluder] = (tc + vel[target] * T / 2 - start) / (T / 2)
        if not group and rng.random() < 0.4:  # the target leaves the frame by the end
            vel[target, 0] = (1.6 * W if rng.random() < 0.5 else -1.6 * W) / T
        bg, _ = background(rng, (H, W + int(W * 0.25)), split)
        frames, alphas, keys, first = [], [], None, None
        for image, vis, infos in _frames(placed, vel, bg, W, T):
            valid = _valid_keys(infos, target)
            keys = valid if keys is None else keys & valid
            first = first or infos
            frames.append(image)
            alphas.append(vis[target])
        if keys and first[target].area >= MIN_VISIBLE:
            noun, adj, rel = _choose(sorted(keys, key=str), rng)
            count = sum(phrases.matches(b, noun, adj) for b in first if b.area >= TRACE)
            return np.stack(frames), np.stack(alphas), _choose(render(Option(noun, adj, rel, count)), rng)


def make_pair_clip(seed: int, category: str = "zebra", num_frames: int = 48,
                   size: int | tuple[int, int] = (256, 256), split: str = "train"
                   ) -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
    """Two instances of ``category`` side by side, walking the same way over a panning
    background (sometimes with a third object of another category): frames (T,H,W,3)
    uint8, alphas (2,T,H,W) float32 of the left and the right one, and the texts
    ("the left zebra", "the right zebra"), which hold in every frame."""
    rng = np.random.default_rng([int(seed), 11])
    H, W = as_size(size)
    T = int(num_frames)
    others = tuple(c for c in CATEGORIES if c != category)
    for _ in range(50):
        first = design_object(category, rng, split)
        designs = [first, design_object(category, rng, split, colour=first.colour)]
        extents = [float(rng.uniform(0.3, 0.5))] * 2
        extra = rng.random() < 0.5
        if extra:
            designs.append(design_object(_choose(others, rng), rng, split))
            extents.append(float(rng.uniform(0.12, 0.25)))
        layout = _layout(designs, extents, [0, 1], rng, H, W)
        placed = _render_patches(designs, layout, rng)
        if placed[0].x > placed[1].x:
            placed[:2] = placed[1::-1]
        vel = np.zeros((len(placed), 2))
        vel[:2, 0] = rng.uniform(-0.15, 0.15) * W / T + np.array([-1, 1]) * rng.uniform(0, 0.05) * W / T
        if extra:
            placed = [placed[2]] + placed[:2]  # behind the pair
            vel = vel[[2, 0, 1]]
        bg, _ = background(rng, (H, W + int(W * 0.25)), split)
        frames, mattes, ok = [], [], True
        k = len(placed) - 2
        for image, vis, infos in _frames(placed, vel, bg, W, T):
            shown = _shown(infos)
            keys = {i: {_key(o) for o in phrases.options([infos[s] for s in shown], shown.index(i))}
                    for i in (k, k + 1) if i in shown}
            ok &= (category, None, "left") in keys.get(k, set()) and (category, None, "right") in keys.get(k + 1, set())
            frames.append(image)
            mattes.append(vis[k:k + 2])
        if ok:
            return np.stack(frames), np.stack(mattes, 1), (f"the left {category}", f"the right {category}")
    raise RuntimeError(f"no clear two-{category} layout found for seed {seed}")
