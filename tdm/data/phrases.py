"""Referring expressions for synthetic scenes, built from the actual layout.

A referring option is (noun, adjective, relation): the noun is the category or its
supercategory ("animal", "vehicle", "object", "plant"), the adjective a colour word or an
attribute (striped, spotted, transparent), the relation a position (left, right, middle,
top, bottom) or a size (big, small) that singles the target out among the instances the
noun and adjective match. An option is kept only when it picks out the target and nothing
else: positions need centres at least ``MARGIN`` apart (and the target's box edge beyond
the others'), sizes a ratio of ``SIZE_RATIO`` in area, and colours a viewer could confuse
("red" and "orange") count as the same colour. Each option has several renderings ("the
left zebra", "the zebra on the left", "the leftmost zebra", "left zebra" ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .objects import CATEGORY_COLOURS, SUPERCATEGORY
from .shapes import CONFUSABLE

MARGIN = 0.08      # min gap (fraction of the image) between centres for a position word
SIZE_RATIO = 2.0   # min area ratio for big / small
POSITIONS = ("left", "right", "middle", "top", "bottom")
SIZES = ("big", "small")
PATTERN_WORDS = frozenset({"striped", "spotted", "transparent"})  # the adjectives that are not colours


@dataclass
class InstanceInfo:
    """Layout facts of one instance, as fractions of the image: alpha-weighted centre,
    visible area, ``size`` (its area before occlusion) and the visible box (x0, y0, x1, y1)."""

    category: str
    colour: str
    attributes: set[str] = field(default_factory=set)
    cx: float = 0.5
    cy: float = 0.5
    area: float = 0.0
    size: float = 0.0
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Option:
    noun: str
    adjective: str | None
    relation: str | None
    group: int  # how many instances the noun + adjective match

    @property
    def kind(self) -> str:
        """What it singles its target out by (``phrase_kind`` reads the same from a text)."""
        if self.relation in POSITIONS:
            return "position"
        if self.relation in SIZES:
            return "size"
        if self.adjective is None:
            return "category"
        return "pattern" if self.adjective in PATTERN_WORDS else "colour"


def _same_colour(a: str, b: str) -> bool:
    return a == b or frozenset((a, b)) in CONFUSABLE


def matches(info: InstanceInfo, noun: str, adjective: str | None) -> bool:
    """Whether ``noun`` (+ ``adjective``) could be read as naming ``info``."""
    if noun not in (info.category, SUPERCATEGORY[info.category]):
        return False
    if adjective is None or adjective in info.attributes:
        return True
    return _same_colour(adjective, info.colour)


def _relations(t: InstanceInfo, others: list[InstanceInfo]) -> list[str]:
    """Positions and sizes that hold for ``t`` against every one of ``others``."""
    out = []
    for axis, lo, hi in ((0, "left", "right"), (1, "top", "bottom")):
        v = (t.cx, t.cy)[axis]
        rest = [(o.cx, o.cy)[axis] for o in others]
        if all(v + MARGIN < r for r in rest) and all(t.box[axis] < o.box[axis] for o in others):
            out.append(lo)
        if all(v - MARGIN > r for r in rest) and all(t.box[axis + 2] > o.box[axis + 2] for o in others):
            out.append(hi)
    if len(others) == 2:
        xs = sorted(o.cx for o in others)
        if xs[0] + MARGIN < t.cx < xs[1] - MARGIN:
            out.append("middle")
    if all(t.size >= SIZE_RATIO * o.size for o in others):
        out.append("big")
    if all(t.size * SIZE_RATIO <= o.size for o in others):
        out.append("small")
    return out


def options(infos: list[InstanceInfo], target: int) -> list[Option]:
    """Every (noun, adjective, relation) that refers to ``infos[target]`` and nothing else."""
    t = infos[target]
    nouns = [t.category] + ([SUPERCATEGORY[t.category]] if SUPERCATEGORY[t.category] != t.category else [])
    out = []
    for noun in nouns:
        for adj in [None, t.colour] + sorted(t.attributes):
            group = [j for j, b in enumerate(infos) if matches(b, noun, adj)]
            if group == [target]:
                out.append(Option(noun, adj, None, 1))
            else:
                others = [infos[j] for j in group if j != target]
                out += [Option(noun, adj, rel, len(group)) for rel in _relations(t, others)]
    return out


def _base(noun: str, adj: str | None) -> list[str]:
    """Noun phrases without article: 'striped zebra', 'person in red' ..."""
    if adj is None:
        return [noun]
    if noun == "person" and adj not in PATTERN_WORDS:
        return [f"person in {adj}", f"person wearing {adj}"]
    words = ("transparent", "see-through") if adj == "transparent" else (adj,)
    return [f"{w} {noun}" for w in words]


def render(opt: Option) -> list[str]:
    """The renderings of one option."""
    out = []
    two = opt.group == 2
    for b in _base(opt.noun, opt.adjective):
        r = opt.relation
        if r is None:
            out += [f"the {b}", b, ("an " if b[0] in "aeiou" else "a ") + b]
        elif r in ("left", "right"):
            out += [f"the {r} {b}", f"the {b} on the {r}", f"the {r}most {b}", f"{r} {b}",
                    f"the {b} at the {r}", f"the {b} on the {r} side"]
        elif r == "middle":
            out += [f"the middle {b}", f"the {b} in the middle", f"the {b} in the center", f"the center {b}"]
        elif r in ("top", "bottom"):
            out += [f"the {r} {b}", f"the {b} at the {r}",
                    f"the {'upper' if r == 'top' else 'lower'} {b}" if two else f"the {r}most {b}"]
        elif r == "big":
            out += ([f"the bigger {b}", f"the larger {b}", f"the big {b}", f"big {b}"] if two
                    else [f"the biggest {b}", f"the largest {b}", f"the big {b}"])
        else:
            out += ([f"the smaller {b}", f"the small {b}", f"small {b}", f"the little {b}"] if two
                    else [f"the smallest {b}", f"the small {b}", f"the little {b}"])
    return out


def referring_expressions(infos: list[InstanceInfo], target: int) -> list[str]:
    """Every rendering that refers to ``infos[target]`` and to no other instance."""
    return list(dict.fromkeys(text for opt in options(infos, target) for text in render(opt)))


KIND_WORDS = {  # the words of render()'s relations, and of the adjectives
    "position": {"left", "leftmost", "right", "rightmost", "middle", "center", "top", "topmost", "upper",
                 "bottom", "bottommost", "lower"},
    "size": {"big", "bigger", "biggest", "large", "larger", "largest", "small", "smaller", "smallest",
             "little"},
    "colour": {word for colours in CATEGORY_COLOURS.values() for colour in colours for word in colour.split()} - {"and"},
    "pattern": PATTERN_WORDS | {"see-through"},
}


def phrase_kind(text: str) -> str:
    """What a referring text singles its target out by: ``position`` or ``size`` (a
    relation, whatever else it says), else ``colour`` (a colour word) or ``pattern``
    (striped, spotted, transparent), else ``category`` (its noun alone)."""
    words = set(text.lower().split())
    return next((kind for kind, vocab in KIND_WORDS.items() if words & vocab), "category")


def _choose(items, rng):
    return items[int(rng.integers(len(items)))]


def describe(infos: list[InstanceInfo], target: int, rng: np.random.Generator,
             allowed: list[Option] | None = None, balance: bool = False) -> str | None:
    """One referring expression for ``target`` (an option drawn at random, the category
    noun three times in four, then one of its renderings), or None when the layout
    leaves nothing unique (two identical, overlapping instances). ``allowed``: restrict
    to these options (e.g. those valid in every frame of a clip). ``balance``: first draw
    the option's kind (position, size, colour, pattern, category) evenly among those the
    layout allows, so that the rarer kinds (size) are not drowned by the common ones (position)."""
    opts = options(infos, target) if allowed is None else allowed
    if not opts:
        return None
    if balance:
        kind = _choose(sorted({o.kind for o in opts}), rng)
        opts = [o for o in opts if o.kind == kind]
    own = [o for o in opts if o.noun == infos[target].category]
    pool = own if own and (len(own) == len(opts) or rng.random() < 0.75) else [o for o in opts if o not in own]
    return _choose(render(_choose(pool, rng)), rng)


def absent_expression(infos: list[InstanceInfo], categories: tuple[str, ...],
                      rng: np.random.Generator) -> str | None:
    """A phrase that names nothing in the scene: a category that is not there ("the red
    car" among zebras) or, one time in three, a colour no instance of a present category
    has or resembles ("the blue car" beside a red one). None if neither exists."""
    present = {i.category for i in infos}
    missing = [c for c in categories if c not in present]
    if present and (not missing or rng.random() < 1 / 3):
        cat = _choose(sorted(present), rng)
        have = [i.colour for i in infos if i.category == cat]
        free = [c for c in CATEGORY_COLOURS[cat] if not any(_same_colour(c, h) for h in have)]
        if free:
            return _choose(render(Option(cat, _choose(free, rng), None, 1)), rng)
    if not missing:
        return None
    cat = _choose(missing, rng)
    adj = _choose(CATEGORY_COLOURS[cat], rng) if rng.random() < 0.4 else None
    rel = _choose(POSITIONS + SIZES, rng) if rng.random() < 0.3 else None
    return _choose(render(Option(cat, adj, rel, 2)), rng)
