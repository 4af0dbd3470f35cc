"""The paper's dataset interleaving: the schedule, and SPECs joined with + that follow it."""
import json

import cv2
import numpy as np

from tdm.data import InterleavedDataset, InterleavedSchedule, open_dataset


def test_paper_schedule():
    s = InterleavedSchedule(["refmatte", "refcoco"], ["p3m", "am2k", "rm1k"], special_every=4, seed=0)
    seq = [s.source_at(i) for i in range(15)]
    assert seq[:4] == ["refmatte", "refcoco", "refmatte", "refcoco"]
    assert seq[5:9] == ["refmatte", "refcoco", "refmatte", "refcoco"]
    assert {seq[4], seq[9], seq[14]} <= {"p3m", "am2k", "rm1k"}
    specials = {s.source_at(i) for i in range(4, 500, 5)}
    assert specials == {"p3m", "am2k", "rm1k"}
    assert seq == [InterleavedSchedule(["refmatte", "refcoco"], ["p3m", "am2k", "rm1k"], seed=0).source_at(i) for i in range(15)]


def test_single_source_and_special_only():
    assert {InterleavedSchedule(["synthetic"]).source_at(i) for i in range(7)} == {"synthetic"}
    assert {InterleavedSchedule([], ["p3m"]).source_at(i) for i in range(7)} == {"p3m"}


def test_interleaved_spec_batches_follow_schedule(tmp_path):
    (tmp_path / "am/train/original").mkdir(parents=True)
    (tmp_path / "am/train/mask").mkdir(parents=True)
    for stem in ("a", "b"):
        cv2.imwrite(str(tmp_path / "am/train/original" / f"{stem}.jpg"), np.full((20, 20, 3), 100, np.uint8))
        cv2.imwrite(str(tmp_path / "am/train/mask" / f"{stem}.png"), np.full((20, 20), 255, np.uint8))
    (tmp_path / "am/captions.json").write_text(json.dumps({"a": "a brown dog"}))
    ds = open_dataset(f"synthetic:length=10+am2k:{tmp_path / 'am'}", size=16, seed=0, samples_per_iteration=2)
    assert isinstance(ds, InterleavedDataset)
    sources = [ds[i]["source"] for i in range(12)]
    assert sources[:8] == ["synthetic"] * 8 and sources[8:10] == ["am2k"] * 2
    assert ds[8]["text"] in {"a brown dog", "the animal"}
