"""The learning curve follows --init back, counts each stage's steps over the chain and
keeps the last line of a step a resumed run logged twice."""
import json

from tdm.train.config import TrainConfig
from tdm.train.curve import learning_curve, main


def run_folder(path, stage, max_steps, init, rows):
    path.mkdir()
    TrainConfig(preset="demo", stage=stage, data="synthetic", output=str(path),
                max_steps=max_steps, init=init, val_size=16).save(path)
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_chain_and_stage_steps(tmp_path, capsys):
    a, b, c = tmp_path / "a-s1", tmp_path / "a-s2", tmp_path / "b-s1"
    run_folder(a, "semantic", 200, None, [{"step": 100, "loss": 1, "val_iou": 0.1, "val_sad": 9},
                                          {"step": 200, "loss": 1}])
    run_folder(b, "transparency", 50, str(a), [{"step": 50, "val_iou": 0.2, "val_sad": 7}])
    # resumed after a crash: step 20's first line (logged before the crash) is replaced
    run_folder(c, "semantic", 100, str(tmp_path / "gone" / "a-s2"),
               [{"step": 20, "val_iou": 0.0, "val_sad": 99},
                {"step": 20, "val_iou": 0.3, "val_sad": 5}])
    points = learning_curve(c)  # init found beside c, though recorded under another parent
    assert [(p.stage, p.step, p.stage_steps) for p in points] == [
        ("semantic", 100, 100), ("transparency", 50, 50), ("semantic", 20, 220)]
    assert points[-1].figures == {"iou": 0.3, "sad": 5}
    assert points[0].val_size == 16
    assert main([str(c)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| run | stage | step | stage steps | val scenes | iou | sad |")
    assert len(table) == 2 + 3


def test_not_a_run_folder(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "not a tdm-train run folder" in capsys.readouterr().err
