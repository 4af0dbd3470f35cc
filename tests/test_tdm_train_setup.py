"""What a run opens (``tdm.train.setup``): the held-out SPEC of a training SPEC, and the
paper-scale recipe of docs/TRAINING.md starts on data laid out like the real downloads."""
import json
import re
from pathlib import Path

import real_layouts
from pipelines.train import main
from tdm.train import TrainConfig
from tdm.train.setup import open_data, validation_spec

DOCS = Path(__file__).resolve().parents[1] / "docs" / "TRAINING.md"


def test_validation_spec_is_held_out():
    assert validation_spec("synthetic:length=5") == "synthetic:length=5,split=val"
    assert validation_spec("synthetic:length=5,seed=3,split=train") == "synthetic:length=5,split=val"  # own seed
    assert validation_spec("refmatte:/d/R+refcoco:/d/C,split=train+video:/v") == (
        "refmatte:/d/R,split=test+refcoco:/d/C,split=val")  # RefCOCO (UNC) has no test split
    assert validation_spec("p3m:/d/P+am2k:/d/A+rm1k:/d/M") == "p3m:/d/P,split=test+am2k:/d/A,split=test"
    assert validation_spec("video:/v") is None
    assert validation_spec("rm1k:/d/M") is None  # one set, no held-out split


def documented_data(base: Path) -> str:
    """The DATA spec of docs/TRAINING.md's paper-scale commands, /data/ moved under ``base``."""
    spec = re.search(r'^DATA="([^"]+)"', DOCS.read_text(), re.M).group(1)
    return spec.replace(":/data/", f":{base}/")


def test_documented_data_spec_trains_and_validates_without_val_data(tmp_path, one_thread):
    real_layouts.make_all(tmp_path)
    data = documented_data(tmp_path)
    assert [part.split(":")[0] for part in data.split("+")] == ["refmatte", "refcoco", "p3m", "am2k", "rm1k"]
    # every real set is validated on a split its download has; RM-1K has none
    held_out = validation_spec(data)
    assert "rm1k" not in held_out and "refcoco" in held_out and "split=val" in held_out
    config = TrainConfig(preset="tiny", stage="semantic", data=data, output=str(tmp_path / "unused"))
    _, validation = open_data(config, global_batch=2)
    assert set(validation.datasets) == {"refmatte", "refcoco", "p3m", "am2k"}
    assert validation.datasets["refcoco"][0]["text"] == "val person"
    assert all(validation.datasets["refmatte"][i]["text"].startswith("test ") for i in range(2))
    # stage 1 of the recipe (tiny preset, no --val-data): 5 steps reach the special iteration
    out = tmp_path / "run"
    assert main(["--preset", "tiny", "--stage", "semantic", "--data", data, "--output", str(out),
                 "--max-steps", "5", "--batch-size", "2", "--val-size", "5", "--no-progress"]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5] and "val_sad" in rows[-1]


def test_documented_recipe_runs_every_stage_on_download_layouts(tmp_path, one_thread):
    """Stages 1-4 of the recipe, each --init from the one before, as docs/TRAINING.md
    chains them (tiny preset; stage 4's side must be a multiple of 256)."""
    real_layouts.make_all(tmp_path)
    data = documented_data(tmp_path)
    previous = None
    for stage, extra in (("semantic", []), ("transparency", []), ("matting", []),
                         ("upsampler", ["--resolution", "256"])):
        out = tmp_path / stage
        init = ["--init", str(previous)] if previous else []
        assert main(["--preset", "tiny", "--stage", stage, "--data", data, "--output", str(out),
                     "--max-steps", "2", "--batch-size", "2", "--val-size", "2", "--no-progress",
                     *init, *extra]) == 0, stage
        assert (out / "model_index.json").is_file()
        previous = out
