"""Training views: the paper's plain resize for real photographs, RSSN and a text-safe
flip/crop for composites."""
import cv2
import numpy as np

from tdm.data.augment import augment, flip_and_crop, flip_text, resize_pair, rssn, safe_crop_window
from tdm.data.records import Record, RecordDataset


def _scene():
    image = np.zeros((60, 80, 3), np.uint8)
    image[:] = (30, 30, 200)
    alpha = np.zeros((60, 80), np.float32)
    alpha[20:40, 8:28] = 1.0
    image[alpha > 0] = (220, 30, 30)
    return image, alpha


def test_flip_text_swaps_left_and_right_words():
    assert flip_text("the left zebra, right of the Leftmost dog") == "the right zebra, left of the Rightmost dog"
    assert flip_text("the bright light") == "the bright light"


def test_flip_swaps_the_phrase_and_positional_phrases_are_never_cropped():
    image, alpha = _scene()
    flips = 0
    for seed in range(16):
        out, a, text = flip_and_crop(image, alpha, "the zebra on the left", (30, 40), np.random.default_rng(seed), alpha)
        plain = resize_pair(image, alpha, (30, 40))[1]
        if text == "the zebra on the right":
            flips += 1
            np.testing.assert_array_equal(a, plain[:, ::-1])  # mirrored, never cropped
        else:
            assert text == "the zebra on the left"
            np.testing.assert_array_equal(a, plain)
    assert 0 < flips < 16


def test_crops_keep_the_whole_foreground():
    _, alpha = _scene()
    alpha[5:12, 60:70] = 0.5  # a second instance
    windows = 0
    for seed in range(20):
        win = safe_crop_window(alpha, (30, 40), np.random.default_rng(seed))
        if win is None:
            continue
        y0, x0, h, w = win
        windows += 1
        assert alpha[y0:y0 + h, x0:x0 + w].sum() == alpha.sum() and abs(w / h - 4 / 3) < 0.1
    assert windows == 20
    assert safe_crop_window(np.ones((60, 80), np.float32), (30, 40), np.random.default_rng(0)) is None


def test_real_photographs_are_only_resized():
    image, alpha = _scene()
    out, a, text = augment(image, alpha, "the left zebra", (30, 40), np.random.default_rng(0))
    ref_image, ref_alpha = resize_pair(image, alpha, (30, 40))
    np.testing.assert_array_equal(out, ref_image)
    np.testing.assert_array_equal(a, ref_alpha)
    assert text == "the left zebra"


def test_rssn_blurs_only_the_background_without_foreground_bleeding():
    image, alpha = _scene()
    ring = (cv2.dilate(alpha, np.ones((9, 9), np.uint8)) > 0) & (alpha == 0)
    changed = 0
    for seed in range(12):
        out = rssn(image, alpha, np.random.default_rng(seed))
        assert out[..., 0][ring].mean() < 45  # a plain blur would mix the red object into it
        changed += not np.array_equal(out, image)
    assert changed > 0


def test_composite_records_use_every_instance_of_the_image(tmp_path):
    image, alpha = _scene()
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), image[..., ::-1])
    other = np.zeros_like(alpha)
    other[5:12, 60:70] = 1.0
    recs = [Record(path, lambda: alpha, ("the red square",)), Record(path, lambda: other, ("the other one",))]
    ds = RecordDataset(recs, "refmatte", size=(30, 40), composite=True)
    np.testing.assert_array_equal(ds.foreground(0, alpha), np.maximum(alpha, other))
    assert ds[0]["alpha"].shape == (1, 30, 40)
