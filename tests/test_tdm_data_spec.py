"""--data SPEC (``tdm.data.spec``): what a SPEC opens, and a bad value is one line naming it
(also tdm-eval's numbers: exit 2), never a raw ValueError; an option no source reads is
refused instead of ignored."""
from __future__ import annotations

import pytest
import torch

from pipelines.evaluate import main as eval_main
from tdm.data import SyntheticMattingDataset, open_dataset, parse_spec


def test_open_synthetic_spec():
    ds = open_dataset("synthetic:length=7,max_objects=2", size=32, seed=1)
    assert isinstance(ds, SyntheticMattingDataset) and len(ds) == 7 and ds[0]["image"].shape == (3, 32, 32)
    # a seed in the SPEC overrides the caller's: the same seed gives the same samples
    fixed = open_dataset("synthetic:length=3,seed=9", size=32, seed=1)[0]["image"]
    assert torch.equal(fixed, open_dataset("synthetic:length=3", size=32, seed=9)[0]["image"])
    assert not torch.equal(fixed, open_dataset("synthetic:length=3", size=32, seed=1)[0]["image"])
    with pytest.raises(ValueError):
        open_dataset("nonsense:/x")
    with pytest.raises(ValueError):
        open_dataset("refmatte")


@pytest.mark.parametrize("spec, needle", [
    ("synthetic:length=abc", "synthetic: length='abc' is not a whole number"),
    ("synthetic:length=-3", "synthetic: length must be at least 1, got -3"),
    ("synthetic:length=0", "synthetic: length must be at least 1, got 0"),
    ("synthetic:max_objects=0", "max_objects must be at least 1"),
    ("synthetic:seed=-1", "seed must be at least 0"),
    ("synthetic:bogus=1", "synthetic: unknown option 'bogus' (known: length, max_objects, seed, "
                          "split, pairs, balance, special_every)"),
    ("synthetic:length=4,lenght=5", "unknown option 'lenght'"),
    ("refcoco:/data/refcoco,annotations=x.json", "refcoco: unknown option 'annotations'"),
    ("synthetic:/data/x", "synthetic takes no path"),
    ("refmatte:/a,/b", "refmatte: unexpected '/b'"),
    ("synthetic+refmatte:/d,special_every=0", "special_every must be at least 1"),
])
def test_bad_specs_name_the_option(spec, needle):
    with pytest.raises(ValueError) as err:
        parse_spec(spec)
    assert needle in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_every_option_a_source_reads_is_accepted():
    assert parse_spec("synthetic:length=8,max_objects=2,seed=0,split=val,special_every=3") == [
        ("synthetic", None, {"length": 8, "max_objects": 2, "seed": 0, "split": "val",
                             "special_every": 3})]
    assert parse_spec("refmatte:/r,split=test,annotations=a.json+refcoco:/c,split=val"
                      "+p3m:/p,captions=c.json+video:/v,text=the dog,backgrounds=/b") == [
        ("refmatte", "/r", {"split": "test", "annotations": "a.json"}),
        ("refcoco", "/c", {"split": "val"}), ("p3m", "/p", {"captions": "c.json"}),
        ("video", "/v", {"text": "the dog", "backgrounds": "/b"})]


@pytest.mark.parametrize("args, needle", [
    (["--size", "0"], "argument --size: must be from 1 to 8192 pixels, got 0"),
    (["--size", "-5"], "argument --size: must be from 1 to 8192 pixels, got -5"),
    (["--size", "100000"], "argument --size: must be from 1 to 8192 pixels"),
    (["--size", "big"], "argument --size: expected a whole number, got 'big'"),
    (["--resolution", "0"], "argument --resolution: must be a positive integer"),
    (["--resolution", "100"], "argument --resolution: must be a multiple of 64"),
    (["--data", "synthetic:length=-3"], "--data synthetic:length=-3: synthetic: length must be at least 1"),
    (["--data", "synthetic:length=abc"], "length='abc' is not a whole number"),
    (["--data", "synthetic:bogus=1"], "unknown option 'bogus'"),
])
def test_tdm_eval_bad_numbers_are_one_line_exit_2(args, needle, capsys, tmp_path):
    argv = ["--model", str(tmp_path / "never-loaded"), "--data", "synthetic:length=2",
            "--device", "cpu"] + args
    code = eval_main(argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("tdm-eval: error: "), lines
    assert needle in lines[0] and "ValueError" not in lines[0], lines[0]
