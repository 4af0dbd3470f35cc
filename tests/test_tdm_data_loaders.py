"""Each real-layout loader reads a tiny fixture written here in that layout."""
import json
import pickle

import cv2
import numpy as np
import pytest
import torch

import real_layouts
from tdm.data.image_matting import open_folder_set, open_refmatte
from tdm.data.io import load_plain_pickle
from tdm.data.refcoco import decode_segmentation, open_refcoco, rle_counts_from_string


def _write_pair(img_path, alpha_path, h=40, w=60, seed=0):
    rng = np.random.default_rng(seed)
    img_path.parent.mkdir(parents=True, exist_ok=True)
    alpha_path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(img_path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    alpha = np.zeros((h, w), np.uint8)
    alpha[10:30, 20:40] = 255
    cv2.imwrite(str(alpha_path), alpha)


def _check(sample, size, source):
    assert sample["image"].shape == (3, *size) and sample["alpha"].shape == (1, *size)
    assert sample["image"].dtype == torch.float32 and -1 <= sample["image"].min() <= sample["image"].max() <= 1
    assert 0 <= sample["alpha"].min() and sample["alpha"].max() <= 1 and sample["alpha"].max() > 0.5
    assert sample["source"] == source


def test_refmatte_layout_draws_one_of_several_expressions(tmp_path):
    root = tmp_path / "RefMatte"
    _write_pair(root / "train/img/a.jpg", root / "train/mask/a_0.png")
    _write_pair(root / "train/img/b.jpg", root / "train/mask/b_0.png", seed=1)
    labels = {"a.jpg": [{"alpha": "a_0.png", "expressions": ["the cat", "a cat on the left", "the small cat"]}],
              "b.jpg": [{"mask": "b_0", "expressions": "the dog"}]}
    (root / "train/refmatte_train.json").write_text(json.dumps(labels))
    ds = open_refmatte(root, size=32, seed=0)
    assert len(ds) == 2
    texts = {ds[i * 2]["text"] for i in range(12)}
    assert texts <= {"the cat", "a cat on the left", "the small cat", "a cat on the right"} and len(texts) > 1
    _check(ds[0], (32, 32), "refmatte")
    plain = open_refmatte(root, size=(16, 24), augment=False)
    _check(plain[1], (16, 24), "refmatte")
    assert plain[1]["text"] == "the dog"
    assert torch.equal(ds[5]["image"], open_refmatte(root, size=32, seed=0)[5]["image"])


@pytest.mark.parametrize("name,img_dir,alpha_dir", [
    ("p3m", "train/blurred_image", "train/mask"),
    ("am2k", "train/original", "train/mask"),
    ("rm1k", "train/image", "train/alpha"),
])
def test_folder_sets_with_captions(tmp_path, name, img_dir, alpha_dir):
    for stem in ("x1", "x2"):
        _write_pair(tmp_path / img_dir / f"{stem}.jpg", tmp_path / alpha_dir / f"{stem}.png")
    (tmp_path / "captions.json").write_text(json.dumps({"x1.jpg": "a woman in a red coat"}))
    ds = open_folder_set(name, tmp_path, size=24, seed=1, augment=False)
    assert len(ds) == 2
    _check(ds[0], (24, 24), name)
    assert ds[0]["text"] == "a woman in a red coat" and ds[1]["text"]  # x2 falls back to the default


def test_p3m_test_split_layout(tmp_path):
    _write_pair(tmp_path / "validation/P3M-500-NP/original_image/p.jpg", tmp_path / "validation/P3M-500-NP/mask/p.png")
    assert len(open_folder_set("p3m", tmp_path, size=16, split="test")) == 1


def _coco_rle_string(counts):
    """COCO's rleToString, written from its description: deltas from i-2, 5-bit groups."""
    out = []
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            out.append(chr(c + (0x20 if more else 0) + 48))
    return "".join(out)


def test_rle_and_polygon_decoding():
    mask = np.zeros((5, 4), np.float32)
    mask[1:3, 1] = 1
    mask[4, 3] = 1
    flat = mask.T.reshape(-1)  # column-major runs
    runs, value, n = [], 0, 0
    for v in flat:
        if v != value:
            runs.append(n)
            value, n = v, 0
        n += 1
    runs.append(n)
    np.testing.assert_array_equal(decode_segmentation({"counts": runs, "size": [5, 4]}, 5, 4), mask)
    counts = [5, 2, 40, 0, 3, 1000, 7]
    assert rle_counts_from_string(_coco_rle_string(counts)) == counts
    poly = decode_segmentation([[10, 10, 30, 10, 30, 20, 10, 20]], 40, 40)
    assert poly[15, 20] == 1 and poly[5, 5] == 0 and 180 < poly.sum() < 260


def test_refcoco_layout_with_pickled_refs(tmp_path):
    root = tmp_path / "refcoco"
    _write_pair(root / "images/COCO_train2014_1.jpg", tmp_path / "unused.png", h=40, w=60)
    coco = {"images": [{"id": 1, "file_name": "COCO_train2014_1.jpg", "height": 40, "width": 60}],
            "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "segmentation": [[5, 5, 30, 5, 30, 30, 5, 30]]},
                            {"id": 8, "image_id": 1, "category_id": 44, "segmentation": [[40, 5, 55, 5, 55, 30]]}],
            "categories": [{"id": 1, "name": "person"}, {"id": 44, "name": "bottle"}]}
    (root / "instances.json").write_text(json.dumps(coco))
    refs = [{"ref_id": 0, "ann_id": 7, "image_id": 1, "split": "train",
             "sentences": [{"sent": "man on left", "raw": "Man on left"}, {"sent": "guy"}]},
            {"ref_id": 1, "ann_id": 8, "image_id": 1, "split": "train", "sentences": [{"sent": "bottle"}]},
            {"ref_id": 2, "ann_id": 7, "image_id": 1, "split": "val", "sentences": [{"sent": "val ref"}]}]
    with open(root / "refs(unc).p", "wb") as f:
        pickle.dump(refs, f, protocol=2)
    ds = open_refcoco(root, size=32, seed=0)
    assert len(ds) == 1  # bottle excluded, val ref skipped
    s = ds[0]
    _check(s, (32, 32), "refcoco")
    assert s["text"] in {"man on left", "guy", "man on right"}
    alpha = np.zeros((40, 60), np.uint8)
    alpha[5:31, 5:31] = 128  # a precomputed alpha takes precedence over the polygon
    (root / "alpha").mkdir()
    cv2.imwrite(str(root / "alpha/7.png"), alpha)
    plain = open_refcoco(root, size=(40, 60), augment=False)[0]
    assert abs(float(plain["alpha"].max()) - 128 / 255) < 0.01


def test_restricted_unpickler_refuses_objects(tmp_path):
    path = tmp_path / "evil.p"
    path.write_bytes(pickle.dumps([{"a": 1}, np.float64(2.0)]))
    with pytest.raises(pickle.UnpicklingError):
        load_plain_pickle(path)


def test_refmatte_release_layout_and_rw100(tmp_path):
    """RefMatte's label JSON is keyed by instance (the mask's stem) with image_name inside;
    RW100 keeps an expression-index JSON beside its labels."""
    root = real_layouts.make_refmatte(tmp_path / "RefMatte")
    train = open_refmatte(root, size=24, augment=False)
    assert len(train) == 4
    for i, record in enumerate(train.records):
        instance = record.texts[0].split()[1]
        assert record.texts == tuple(f"train {instance} expression {e}" for e in range(4))
        assert record.image.name == instance.rsplit("_", 1)[0] + ".jpg"
        np.testing.assert_allclose(record.alpha(), cv2.imread(str(root / "train/mask" / f"{instance}.png"), 0) / 255,
                                   atol=1e-6)
    test = open_refmatte(root, size=24, split="test", augment=False)
    assert len(test) == 2 and test[1]["text"].startswith("test object_0003_1")
    rw100 = open_refmatte(real_layouts.make_rw100(tmp_path / "RefMatte_RW_100"), size=24, split="test")
    assert sorted(r.image.name for r in rw100.records) == ["rw_001.jpg", "rw_002.jpg"]


def test_refcoco_refer_layout_has_every_unc_split_but_test(tmp_path):
    root = real_layouts.make_refcoco(tmp_path / "refer")
    for split in real_layouts.REFCOCO_SPLITS:
        ds = open_refcoco(root, size=32, split=split, augment=False)
        assert len(ds) == 1 and ds[0]["text"] == f"{split} person"  # the bottle is excluded
        _check(ds[0], (32, 32), "refcoco")
    with pytest.raises(ValueError, match="no samples"):
        open_refcoco(root, split="test")


@pytest.mark.parametrize("name,make,train_stem,test_stem", [
    ("p3m", real_layouts.make_p3m, "p", "np_test_1"),
    ("am2k", real_layouts.make_am2k, "m", "m_test"),
])
def test_p3m_and_am2k_release_layouts(tmp_path, name, make, train_stem, test_stem):
    root = make(tmp_path / name)
    train = open_folder_set(name, root, size=16)
    assert sorted(r.image.stem for r in train.records) == [f"{train_stem}_0", f"{train_stem}_1"]
    test = open_folder_set(name, root, size=16, split="test")
    assert [r.image.stem for r in test.records] == [test_stem]
