"""Referring expressions for synthetic scenes, built from the actual layout.

A phrase is (noun, adjective, position). The noun is the category or its supercategory
("animal", "object", "plant"); the adjective a colour word or an attribute (striped,
transparent, small, large); the position (left, right, top, bottom, middle) is computed
among the instances the noun+adjective match, or among all instances when only one
matches. Only phrases that single out the target are kept, so every text is correct.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .shapes import SUPERCATEGORY

POSITIONS = ("left", "right", "top", "bottom", "middle")
ATTRIBUTES = ("striped", "transparent", "small", "large")
ADJECTIVE_SYNONYMS = {"large": ("large", "big"), "transparent": ("transparent", "see-through")}
MARGIN = 0.06  # min gap (fraction of the image) between centres to call one left of another


@dataclass
class InstanceInfo:
    """Layout facts of one visible instance; cx, cy, area are fractions of the image."""

    category: str
    colour: str
    attributes: set[str] = field(default_factory=set)
    cx: float = 0.5
    cy: float = 0.5
    area: float = 0.0


def size_words(infos: list[InstanceInfo]) -> list[set[str]]:
    """'large'/'small' per instance: relative within its category, else absolute area."""
    out: list[set[str]] = [set() for _ in infos]
    for i, a in enumerate(infos):
        same = [b.area for j, b in enumerate(infos) if j != i and b.category == a.category]
        if same:
            if a.area >= 1.8 * max(same):
                out[i].add("large")
            if a.area * 1.8 <= min(same):
                out[i].add("small")
        elif a.area > 0.12:
            out[i].add("large")
        elif a.area < 0.02:
            out[i].add("small")
    return out


def _adjectives(info: InstanceInfo, sizes: set[str]) -> set[str]:
    return {info.colour} | (info.attributes & set(ATTRIBUTES)) | sizes


def _position_words(target: int, group: list[int], infos: list[InstanceInfo]) -> list[str]:
    """Positions that single out ``target`` within ``group`` (or in the image when alone)."""
    t = infos[target]
    others = [infos[j] for j in group if j != target]
    if not others:
        others = [b for j, b in enumerate(infos) if j != target]
    words = []
    if not others:
        words += ["left"] if t.cx < 0.35 else ["right"] if t.cx > 0.65 else []
        words += ["top"] if t.cy < 0.35 else ["bottom"] if t.cy > 0.65 else []
        return words
    for axis, low, high in (("cx", "left", "right"), ("cy", "top", "bottom")):
        v, rest = getattr(t, axis), [getattr(o, axis) for o in others]
        if v + MARGIN < min(rest):
            words.append(low)
        if v - MARGIN > max(rest):
            words.append(high)
    if len(others) == 2 and all(abs(t.cx - o.cx) > MARGIN for o in others):
        if min(o.cx for o in others) < t.cx < max(o.cx for o in others):
            words.append("middle")
    return words


def _indefinite(words: str) -> str:
    return ("an " if words[0] in "aeiou" else "a ") + words


def _render(noun: str, adj: str | None, pos: str | None) -> list[str]:
    a = f"{adj} " if adj else ""
    if pos is None:
        return [f"the {a}{noun}", _indefinite(f"{a}{noun}")]
    if pos == "middle":
        return [f"the {a}{noun} in the middle", f"the middle {a}{noun}"]
    at = "at" if pos in ("top", "bottom") else "on"
    return [f"the {pos} {a}{noun}", f"the {a}{noun} {at} the {pos}", _indefinite(f"{a}{noun} {at} the {pos}")]


def referring_expressions(infos: list[InstanceInfo], target: int) -> list[str]:
    """Every phrasing that refers to ``infos[target]`` and to no other instance."""
    sizes = size_words(infos)
    adjs = [_adjectives(b, s) for b, s in zip(infos, sizes)]
    t = infos[target]
    nouns = [t.category] + ([SUPERCATEGORY[t.category]] if SUPERCATEGORY[t.category] != t.category else [])
    phrases: list[str] = []
    for noun in nouns:
        for adj in [None] + sorted(adjs[target]):
            group = [j for j, b in enumerate(infos)
                     if noun in (b.category, SUPERCATEGORY[b.category]) and (adj is None or adj in adjs[j])]
            positions = _position_words(target, group, infos)
            if group == [target]:
                positions = [None] + positions
            for pos in positions:
                for word in ADJECTIVE_SYNONYMS.get(adj, (adj,)):
                    phrases += _render(noun, word, pos)
    return list(dict.fromkeys(phrases))


def describe(infos: list[InstanceInfo], target: int, rng: np.random.Generator) -> str:
    """One referring expression drawn at random; falls back to the category when the
    layout leaves nothing unique (e.g. two identical, overlapping instances)."""
    options = referring_expressions(infos, target)
    if not options:
        return f"the {infos[target].category}"
    return options[int(rng.integers(len(options)))]
