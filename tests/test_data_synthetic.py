"""Synthetic referring-matting generator: format, determinism, correct texts, clips."""
import numpy as np
import torch

from tdm.data.phrases import InstanceInfo, referring_expressions
from tdm.data.shapes import CATEGORIES, draw_object
from tdm.data.synthetic import SyntheticMattingDataset, make_clip, make_scene, pick_target


def test_sample_format_and_determinism():
    a = SyntheticMattingDataset(size=(64, 96), length=5, seed=3)
    b = SyntheticMattingDataset(size=(64, 96), length=5, seed=3)
    s = a[2]
    assert s["image"].shape == (3, 64, 96) and s["alpha"].shape == (1, 64, 96)
    assert s["image"].min() >= -1 and s["image"].max() <= 1
    assert 0 <= s["alpha"].min() and s["alpha"].max() <= 1 and s["alpha"].sum() > 0
    assert s["source"] == "synthetic" and isinstance(s["text"], str) and s["text"]
    t = b[2]
    assert torch.equal(s["image"], t["image"]) and torch.equal(s["alpha"], t["alpha"]) and s["text"] == t["text"]
    other = SyntheticMattingDataset(size=(64, 96), length=5, seed=4)[2]
    assert not torch.equal(s["image"], other["image"])


def test_every_category_draws_and_glass_is_transparent():
    rng = np.random.default_rng(0)
    for cat in CATEGORIES:
        p = draw_object(cat, rng, 96)
        assert p.alpha.shape == p.rgb.shape[:2] and p.alpha.max() > 0.3, cat
    glass = draw_object("glass", rng, 96)
    body = glass.alpha[(glass.alpha > 0.05)]
    assert "transparent" in glass.attributes and np.median(body) < 0.5
    assert "striped" in draw_object("zebra", rng, 96).attributes


def test_positions_follow_the_layout():
    zebras = [InstanceInfo("zebra", "black and white", {"striped"}, 0.2, 0.5, 0.05),
              InstanceInfo("zebra", "black and white", {"striped"}, 0.8, 0.5, 0.05),
              InstanceInfo("dog", "brown", set(), 0.5, 0.5, 0.04)]
    left = referring_expressions(zebras, 0)
    assert "the left zebra" in left and "a zebra on the left" in left and "the striped animal on the left" in left
    assert not any("right" in t for t in left) and "the zebra" not in left  # ambiguous
    assert "the dog" in referring_expressions(zebras, 2)


def test_scene_texts_name_the_target_category_and_position():
    for seed in range(6):
        rng = np.random.default_rng(seed)
        scene = make_scene(rng, 96, max_objects=4)
        target, text = pick_target(scene, rng)
        info = scene.infos[target]
        assert info.category in text or {"animal", "object", "plant"} & set(text.split())
        if " left" in text:  # the target is left of every other instance the noun matches
            assert info.cx <= 0.5 or len(scene.infos) > 1


def test_clip_shapes_motion_and_determinism():
    f, a, text = make_clip(5, num_frames=8, size=(48, 64))
    assert f.shape == (8, 48, 64, 3) and f.dtype == np.uint8
    assert a.shape == (8, 48, 64) and a.dtype == np.float32 and a[0].sum() > 0
    assert not np.array_equal(a[0], a[-1]) and text
    f2, a2, text2 = make_clip(5, num_frames=8, size=(48, 64))
    assert np.array_equal(f, f2) and np.array_equal(a, a2) and text == text2
