"""Synthetic referring-matting generator: format, determinism, held-out splits, texts that
match the layout, absent objects, sizes, clips."""
import re

import numpy as np
import pytest
import torch

from tdm.data import open_dataset
from tdm.data.families import FAMILIES
from tdm.data.objects import CATEGORIES, SUPERCATEGORY, draw_object
from tdm.data.phrases import InstanceInfo, Option, phrase_kind, referring_expressions, render
from tdm.data.shapes import PALETTE
from tdm.data.splits import BACKGROUNDS, PATTERNS, families
from tdm.data.synthetic import SyntheticMattingDataset, make_clip, make_pair_clip


def test_sample_format_and_determinism():
    a = SyntheticMattingDataset(size=(64, 96), length=5, seed=3)
    b = SyntheticMattingDataset(size=(64, 96), length=5, seed=3)
    s = a[2]
    assert s["image"].shape == (3, 64, 96) and s["alpha"].shape == (1, 64, 96)
    assert s["image"].min() >= -1 and s["image"].max() <= 1
    assert 0 <= s["alpha"].min() and s["alpha"].max() <= 1
    assert s["source"] == "synthetic" and isinstance(s["text"], str) and s["text"]
    t = b[2]
    assert torch.equal(s["image"], t["image"]) and torch.equal(s["alpha"], t["alpha"]) and s["text"] == t["text"]
    other = SyntheticMattingDataset(size=(64, 96), length=5, seed=4)[2]
    assert not torch.equal(s["image"], other["image"])


def test_every_family_draws_and_glass_is_transparent():
    rng = np.random.default_rng(0)
    for cat in CATEGORIES:
        for fam in FAMILIES[cat]:
            p = draw_object(cat, rng, 64, family=fam)
            assert p.alpha.shape == p.rgb.shape[:2] and p.alpha.max() > 0.3 and p.family == fam, (cat, fam)
    glass = draw_object("glass", rng, 96)
    assert "transparent" in glass.attributes and (glass.alpha[glass.alpha > 0.05] < 0.4).mean() > 0.3
    assert "striped" in draw_object("zebra", rng, 96).attributes
    dog = draw_object("dog", rng, 96, family="standing")
    assert ((dog.alpha > 0.05) & (dog.alpha < 0.95)).mean() > 0.02  # fur strands give soft alpha


# training families and backgrounds added so that colour words are not bound to one silhouette
NEW_FAMILIES = {"bird": ("swimming", "long_tailed"), "car": ("coupe",), "bus": ("coach", "articulated"),
                "bicycle": ("bmx", "cruiser"), "ball": ("basketball", "beach"), "chair": ("rocking", "office"),
                "glass": ("flute", "goblet"), "bottle": ("soda", "milk"), "flower": ("sunflower", "lily"),
                "tree": ("oak", "willow")}
NEW_BACKGROUNDS = ("clouds", "bands", "foliage")


def test_every_category_has_three_train_families_that_render_small():
    for cat in CATEGORIES:
        train = families(cat, "train")
        assert len(train) >= 3, (cat, train)
        assert set(NEW_FAMILIES.get(cat, ())) <= set(train)
        assert not set(train) & set(families(cat, "val") + families(cat, "test"))
    rng = np.random.default_rng(1)
    for cat in CATEGORIES:
        for fam in FAMILIES[cat]:
            for _ in range(2):
                p = draw_object(cat, rng, 20, family=fam)
                assert p.alpha.shape == p.rgb.shape[:2] and p.alpha.max() > 0.1 and p.alpha.sum() > 4, (cat, fam)
                assert np.isfinite(p.rgb).all() and 0 <= p.rgb.min() and p.rgb.max() <= 1
    for fam in ("flute", "goblet"):  # the new glasses stay see-through like the others
        p = draw_object("glass", rng, 96, family=fam)
        assert "transparent" in p.attributes and (p.alpha[p.alpha > 0.05] < 0.4).mean() > 0.3


def test_background_kinds_render_in_range():
    from tdm.data.textures import KINDS, background

    assert set(NEW_BACKGROUNDS) <= set(BACKGROUNDS["train"]) and set(sum(BACKGROUNDS.values(), ())) == set(KINDS)
    rng = np.random.default_rng(2)
    for kind in NEW_BACKGROUNDS:
        for h, w in ((48, 64), (37, 20), (3, 5), (256, 200)):
            img = KINDS[kind](rng, h, w)
            assert img.shape == (h, w, 3) and np.isfinite(img).all(), (kind, h, w)
            assert 0 <= img.min() and img.max() <= 1 and (h < 8 or img.std() > 0.01), (kind, h, w)
    kinds = {background(rng, (32, 48), "train")[1] for _ in range(150)}
    assert set(NEW_BACKGROUNDS) <= kinds


def test_val_and_test_draw_none_of_the_new_families_and_backgrounds():
    new = {(c, f) for c, fs in NEW_FAMILIES.items() for f in fs}
    for split in ("val", "test"):
        assert not any(set(families(c, split)) & set(NEW_FAMILIES.get(c, ())) for c in CATEGORIES)
        assert not set(BACKGROUNDS[split]) & set(NEW_BACKGROUNDS)
        fams, _, bgs = _drawn(split, n=40, size=32)
        assert fams and not fams & new and not bgs & set(NEW_BACKGROUNDS), split


def _drawn(split, n=120, size=48):
    ds = SyntheticMattingDataset(size, length=n, seed=5, split=split)
    fams, pats, bgs = set(), set(), set()
    for i in range(n):
        scene, _, _ = ds.scene(i)
        fams |= {(p.category, p.family) for p in scene.patches}
        pats |= {p.pattern for p in scene.patches}
        bgs.add(scene.background)
    return fams, pats, bgs


def test_held_out_families_patterns_and_backgrounds_never_reach_train():
    held = {(c, f) for s in ("val", "test") for c in CATEGORIES for f in families(c, s)}
    held_pat = {f"{k}/{v}" for k, t in PATTERNS.items() for s in ("val", "test") for v in t[s]}
    fams, pats, bgs = _drawn("train", n=200)
    assert fams and not fams & held and not pats & held_pat
    assert not bgs & set(BACKGROUNDS["val"] + BACKGROUNDS["test"])
    assert len(fams) > 25 and len(bgs) >= 5  # the train split is itself diverse
    fams, pats, bgs = _drawn("test")
    assert fams <= {(c, f) for c in CATEGORIES for f in families(c, "test")} and bgs <= set(BACKGROUNDS["test"])
    assert all(p == "plain" or p.split("/")[1] in sum((t["test"] for t in PATTERNS.values()), ()) for p in pats)
    with pytest.raises(ValueError):
        SyntheticMattingDataset(32, split="nope")
    assert open_dataset("synthetic:length=3,split=val", size=32).split == "val"


def _words(text):
    return set(re.findall(r"[a-z]+", text))


def test_texts_match_the_layout_and_absent_prompts_are_empty():
    ds = SyntheticMattingDataset(64, length=250, seed=11)
    seen = {"left": 0, "right": 0, "absent": 0, "big": 0}
    for i in range(250):
        scene, target, text = ds.scene(i)
        words = _words(text)
        shown = [k for k, inf in enumerate(scene.infos) if inf.area > 0.0005]
        if target is None:  # absent: no instance of the named category, or none of the named colour
            seen["absent"] += 1
            named = [c for c in CATEGORIES if c in words]
            assert len(named) == 1 and float(ds[i]["alpha"].sum()) == 0.0
            same = [scene.infos[k] for k in shown if scene.infos[k].category == named[0]]
            assert not same or all(inf.colour not in text for inf in same)
            continue
        t = scene.infos[target]
        assert t.category in words or SUPERCATEGORY[t.category] in words, text
        assert float(scene.alphas[target].sum()) > 0
        adjectives = words & (set(PALETTE) | {"striped", "spotted", "transparent", "see"})
        same = [scene.infos[k] for k in shown if k != target and scene.infos[k].category == t.category
                and adjectives <= _words(scene.infos[k].colour) | scene.infos[k].attributes | {"see"}]
        if not same:
            continue
        if words & {"left", "leftmost"}:
            seen["left"] += 1
            assert all(t.cx < o.cx for o in same), text
        if words & {"right", "rightmost"}:
            seen["right"] += 1
            assert all(t.cx > o.cx for o in same), text
        if words & {"big", "bigger", "biggest", "large", "larger", "largest"}:
            seen["big"] += 1
            assert all(t.size > o.size for o in same), text
    assert min(seen.values()) >= 3, seen  # every kind of phrase occurs


def test_pairs_show_one_scene_with_two_targets():
    ds = open_dataset("synthetic:length=40,pairs=1", size=48, seed=5)
    assert ds.group_size == 2
    kinds = {"two instances": 0, "one and absent": 0}
    for k in range(0, 40, 2):
        (scene, ta, text_a), (_, tb, text_b) = ds.scene(k), ds.scene(k + 1)
        a, b = ds[k], ds[k + 1]
        assert ta != tb and text_a != text_b
        assert np.array_equal(ds.scene(k + 1)[0].image, scene.image)  # one scene (before degradation)
        assert not torch.equal(a["alpha"], b["alpha"])
        kinds["one and absent" if None in (ta, tb) else "two instances"] += 1
    assert min(kinds.values()) >= 3, kinds
    plain = SyntheticMattingDataset(48, length=4, seed=5)
    assert plain.group_size == 1 and plain.scene(1)[2] != plain.scene(0)[2]


def test_positions_follow_the_layout():
    box = lambda cx: (cx - 0.1, 0.4, cx + 0.1, 0.6)  # noqa: E731
    zebras = [InstanceInfo("zebra", "black and white", {"striped"}, 0.2, 0.5, 0.05, 0.05, box(0.2)),
              InstanceInfo("zebra", "black and white", {"striped"}, 0.8, 0.5, 0.05, 0.05, box(0.8)),
              InstanceInfo("dog", "brown", set(), 0.5, 0.5, 0.04, 0.04, box(0.5))]
    left = referring_expressions(zebras, 0)
    assert {"the left zebra", "left zebra", "the leftmost zebra", "the zebra on the left"} <= set(left)
    assert not any("right" in t for t in left) and "the zebra" not in left  # "the zebra" is ambiguous
    assert "the dog" in referring_expressions(zebras, 2)
    close = [InstanceInfo("zebra", "black and white", set(), 0.45, 0.5, 0.05, 0.05, box(0.45)),
             InstanceInfo("zebra", "black and white", set(), 0.5, 0.5, 0.05, 0.05, box(0.5))]
    assert referring_expressions(close, 0) == []  # too close to call left / right


def test_object_sizes_cover_ten_to_sixty_percent():
    ds = SyntheticMattingDataset(64, length=300, seed=2)
    extents = []
    for i in range(300):
        scene, target, _ = ds.scene(i)
        for p in scene.patches:
            a = p.alpha > 0.5
            rows, cols = np.nonzero(a.any(1))[0], np.nonzero(a.any(0))[0]
            extents.append(np.sqrt((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)) / 64)
    assert min(extents) < 0.13 and max(extents) > 0.5 and np.median(extents) > 0.2


def test_clip_shapes_motion_and_determinism():
    f, a, text = make_clip(5, num_frames=8, size=(48, 64))
    assert f.shape == (8, 48, 64, 3) and f.dtype == np.uint8
    assert a.shape == (8, 48, 64) and a.dtype == np.float32 and a[0].sum() > 0
    assert not np.array_equal(a[0], a[-1]) and text
    f2, a2, text2 = make_clip(5, num_frames=8, size=(48, 64))
    assert np.array_equal(f, f2) and np.array_equal(a, a2) and text == text2
    _, val_alphas, _ = make_clip(5, num_frames=4, size=(48, 64), split="val")
    assert not np.array_equal(val_alphas[0], a[0])


def test_pair_clip_left_and_right_zebra():
    frames, alphas, texts = make_pair_clip(3, "zebra", num_frames=6, size=(96, 128))
    assert texts == ("the left zebra", "the right zebra")
    assert frames.shape == (6, 96, 128, 3) and alphas.shape == (2, 6, 96, 128)
    xs = np.arange(128, dtype=np.float32)
    for t in range(6):
        cx = [(a[t].sum(0) * xs).sum() / a[t].sum() for a in alphas]
        assert cx[0] + 0.08 * 128 < cx[1]


def test_every_rendering_of_an_option_has_its_kind():
    from tdm.data.objects import CATEGORY_COLOURS, SUPERCATEGORY

    for noun in sorted(set(CATEGORY_COLOURS) | set(SUPERCATEGORY.values())):
        adjectives = [None, "striped", "transparent"] + list(CATEGORY_COLOURS.get(noun, ()))
        for adjective in adjectives:
            base = "category" if adjective is None else "pattern" if adjective in ("striped", "transparent") else "colour"
            for relation, kind in [(None, base)] + [(r, "position") for r in ("left", "right", "middle", "top", "bottom")] \
                    + [(r, "size") for r in ("big", "small")]:
                for group in (1, 2, 3):
                    option = Option(noun, adjective, relation, group)
                    assert option.kind == kind
                    for text in render(option):
                        assert phrase_kind(text) == kind, text


def test_balance_draws_the_kinds_of_text_evenly():
    """Size texts are rare by default (a 2x area ratio is needed); balance=1 draws the kind
    first, so each kind the layout allows is as likely as any other. Measured on the same
    layouts with and without balance (whole-dataset counts differ in their scenes too, and
    are too noisy to tell a 1.3-1.5x change in a few dozen size texts)."""
    from collections import Counter

    from tdm.data import open_dataset
    from tdm.data.phrases import describe, options

    assert open_dataset("synthetic:length=4,balance=1", size=32).balance
    data = open_dataset("synthetic:length=80", size=64, augment=False)
    counts, expected = {0: Counter(), 1: Counter()}, Counter()
    for i in range(80):
        infos = data.scene(i)[0].infos
        for k in range(len(infos)):
            kinds = {o.kind for o in options(infos, k)}
            if not kinds:
                continue
            expected.update({kind: 10 / len(kinds) for kind in kinds})
            for balance in (0, 1):
                rng = np.random.default_rng([i, k])
                counts[balance].update(phrase_kind(describe(infos, k, rng, balance=bool(balance))) for _ in range(10))
    assert expected["size"] > 100 and counts[1]["size"] > 1.2 * counts[0]["size"], (counts, expected)
    for kind, n in expected.items():
        if n >= 100:
            assert abs(counts[1][kind] - n) < 0.2 * n, (kind, counts[1], expected)
    default, off = (open_dataset(spec, size=64).scene(3) for spec in ("synthetic:length=4", "synthetic:length=4,balance=0"))
    assert default[1:] == off[1:] and np.array_equal(default[0].image, off[0].image)
