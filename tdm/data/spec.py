"""``open_dataset(SPEC, ...)``: what ``tdm-train --data SPEC`` and ``tdm-eval --data SPEC`` open.

SPEC is one source or several joined with ``+`` (interleaved by the paper's schedule):
``name`` or ``name:PATH[,key=value...]`` or ``name:key=value[,...]``, with name one of
synthetic, clips, refmatte, refcoco, p3m, am2k, rm1k, video. Examples: ``synthetic``,
``synthetic:length=2000,max_objects=3``, ``synthetic:pairs=1`` (each scene twice in a
batch with two different targets), ``synthetic:balance=1`` (kinds of text drawn evenly),
``synthetic:split=val`` (held-out shape families, patterns and backgrounds;
``tdm.data.splits``), ``clips:length=8,frames=24`` (held-out
moving clips with a cut, ``tdm.data.clips``), ``refmatte:/data/RefMatte,split=test``,
``refmatte:/d/RefMatte+refcoco:/d/refcoco+p3m:/d/P3M-10k+am2k:/d/AM-2k``.
"""
from __future__ import annotations

from typing import Any, Callable

from torch.utils.data import Dataset

from .clips import HELD_OUT_SEED, SyntheticClipDataset
from .image_matting import open_folder_set, open_refmatte
from .interleave import InterleavedDataset, InterleavedSchedule
from .refcoco import open_refcoco
from .synthetic import SyntheticMattingDataset
from .videos import ReadFrames, VideoMattingDataset

GENERATED = ("synthetic", "clips")    # made by our generator: no path
PRIMARY = ("refmatte", "refcoco")      # alternate on odd / even iterations
SPECIAL = ("p3m", "am2k", "rm1k")       # one of them after every 4 iterations
NAMES = ("synthetic", "clips", "video") + PRIMARY + SPECIAL
# The options each source reads (special_every, the interleaving, goes with any source).
_KEYS = {"synthetic": ("length", "max_objects", "seed", "split", "pairs", "balance"),
         "clips": ("length", "frames", "seed", "split"),
         "video": ("backgrounds", "text"),
         "refmatte": ("split", "annotations"), "refcoco": ("split",),
         **{name: ("split", "captions") for name in SPECIAL}}
_ANY_KEYS = ("special_every",)
_INT_KEYS = {"length": 1, "max_objects": 1, "special_every": 1, "seed": 0, "frames": 4, "pairs": 0, "balance": 0}  # -> least value


def parse_spec(spec: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    """``"a:/p,k=v+b"`` -> [("a", "/p", {"k": v}), ("b", None, {})]. A key the source does
    not read, a number that is not one (or too small) and a second path are refused."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split("+"))):
        name, _, rest = part.partition(":")
        name = name.strip().lower()
        if name not in NAMES:
            raise ValueError(f"unknown dataset {name!r} in --data {spec!r}; known: {', '.join(NAMES)}")
        path, options = None, {}
        for item in filter(None, rest.split(",")):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq:
                if path is not None or name in GENERATED:
                    raise ValueError(f"{name}: unexpected {item!r} (options are key=value; "
                                     f"{f'{name} takes no path' if name in GENERATED else 'one path'})")
                path = item
            elif key not in _KEYS[name] + _ANY_KEYS:
                raise ValueError(f"{name}: unknown option {key!r} (known: "
                                 f"{', '.join(_KEYS[name] + _ANY_KEYS)})")
            else:
                options[key] = _int(name, key, value) if key in _INT_KEYS else value
        if name not in GENERATED and path is None:
            raise ValueError(f"dataset {name!r} needs a path: {name}:/path/to/{name}")
        out.append((name, path, options))
    if not out:
        raise ValueError("empty --data spec")
    return out


def _int(name: str, key: str, value: str) -> int:
    """The whole number ``key=value`` gives, at least ``_INT_KEYS[key]``."""
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name}: {key}={value!r} is not a whole number") from None
    if number < _INT_KEYS[key]:
        raise ValueError(f"{name}: {key} must be at least {_INT_KEYS[key]}, got {number}")
    return number


def _open_one(name: str, path: str | None, options: dict[str, Any], size, seed: int, augment: bool,
              read_frames: ReadFrames | None, count_frames: Callable[[str], int] | None) -> Dataset:
    split = options.get("split", "train")
    if name == "synthetic":
        return SyntheticMattingDataset(size, options.get("length", 10000), options.get("seed", seed),
                                       max_objects=options.get("max_objects", 4), augment=augment, split=split,
                                       pairs=bool(options.get("pairs", 0)), balance=bool(options.get("balance", 0)))
    if name == "clips":
        return SyntheticClipDataset(size, options.get("length", 8), options.get("frames", 24),
                                    options.get("split", "test"), options.get("seed", HELD_OUT_SEED))
    if name == "refmatte":
        return open_refmatte(path, size, seed, split, augment, options.get("annotations"))
    if name == "refcoco":
        return open_refcoco(path, size, seed, split, augment)
    if name == "video":
        return VideoMattingDataset(path, size, seed, read_frames=read_frames, count_frames=count_frames,
                                   backgrounds=options.get("backgrounds"), text=options.get("text", "the person"),
                                   augment=augment)
    return open_folder_set(name, path, size, seed, split, augment, options.get("captions"))


def open_dataset(spec: str, size: int | tuple[int, int] = 512, seed: int = 0, augment: bool = True,
                 samples_per_iteration: int = 1, read_frames: ReadFrames | None = None,
                 count_frames: Callable[[str], int] | None = None) -> Dataset:
    """Open SPEC as a Dataset of ``Sample`` dicts at ``size``.

    One source: that dataset. Several (``+``): an ``InterleavedDataset`` in which item ``i``
    belongs to iteration ``i // samples_per_iteration`` (use the global batch size and an
    unshuffled loader); refmatte/refcoco (and synthetic/video) alternate, p3m/am2k/rm1k
    are the special iteration after every ``special_every`` (4) iterations.
    ``read_frames``/``count_frames`` are needed for ``video:`` roots holding video files."""
    parts = parse_spec(spec)
    datasets: dict[str, Dataset] = {}
    every = 4
    for name, path, options in parts:
        key = name if name not in datasets else f"{name}#{len(datasets)}"
        datasets[key] = _open_one(name, path, options, size, seed, augment, read_frames, count_frames)
        every = int(options.get("special_every", every))
    if len(datasets) == 1:
        return next(iter(datasets.values()))
    primary = [k for k in datasets if k.split("#")[0] not in SPECIAL]
    special = [k for k in datasets if k.split("#")[0] in SPECIAL]
    primary.sort(key=lambda k: PRIMARY.index(k.split("#")[0]) if k.split("#")[0] in PRIMARY else len(PRIMARY))
    schedule = InterleavedSchedule(primary, special, every, seed)
    return InterleavedDataset(datasets, schedule, samples_per_iteration, seed)
