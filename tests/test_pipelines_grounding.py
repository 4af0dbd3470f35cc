"""The issue-14 grounding figures: right instance, wrong instance, absent object."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from pipelines.grounding import evaluate, main, pipeline_predictor, score_scene
from tdm.metrics import swap_choice


def two_zebras() -> np.ndarray:
    alphas = np.zeros((3, 8, 8), np.float32)
    alphas[0, :, :3] = 1  # left zebra
    alphas[1, :, 5:] = 1  # right zebra
    alphas[2, :2, 3:5] = 1  # a car
    return alphas


def test_the_named_instance_scores_and_the_other_does_not():
    alphas, cats = two_zebras(), ["zebra", "zebra", "car"]
    right = score_scene(alphas[1], alphas, cats, target=1)
    assert right["iou"] == 1 and right["iou_other"] == 0 and right["pair_choice"] == 1
    assert right["sad"] == 0 and right["sad_empty"] == pytest.approx(24 / 1000)
    wrong = score_scene(alphas[0], alphas, cats, target=1)
    assert wrong["iou"] == 0 and wrong["iou_other"] == 1 and wrong["pair_choice"] == 0
    car = score_scene(alphas[2], alphas, cats, target=2)
    assert "pair_choice" not in car and car["iou"] == 1
    # a faint matte (never above 0.5) that is highest on the named one still grounds
    faint = 0.1 + 0.2 * alphas[1]
    assert score_scene(faint, alphas, cats, target=1)["named_above_others"] == 1
    assert score_scene(faint, alphas, cats, target=0)["named_above_others"] == 0


def test_the_swap_test_needs_the_text_to_move_the_matte():
    alphas = two_zebras()
    left, right = alphas[0], alphas[1]
    assert swap_choice(left, right, left, right) == 1  # each text picks its own
    assert swap_choice(right, left, left, right) == 0  # each picks the other
    blob = 0.5 * (left + right)
    assert swap_choice(blob, blob, left, right) == 0  # the text changes nothing
    # the salient one wins under both texts, but less so when the other is named: still grounding
    assert swap_choice(0.6 * left + 0.4 * right, 0.5 * left + 0.45 * right, left, right) == 1
    assert swap_choice(0.6 * left + 0.4 * right, 0.7 * left + 0.45 * right, left, right) == 0


def test_an_absent_object_is_scored_by_its_mean_alpha():
    pred = np.full((8, 8), 0.25, np.float32)
    assert score_scene(pred, two_zebras(), ["zebra", "zebra", "car"], None) == {"absent_mean_alpha": 0.25}


def test_evaluate_runs_a_model_on_held_out_scenes(model_dir):
    import tdm

    pipe = tdm.TDMPipeline.from_pretrained(model_dir)
    summary = evaluate(pipeline_predictor(pipe), "test", count=3, seed=5, size=64)
    assert summary["scenes"] == 3 and summary["iou_n"] + summary["absent_mean_alpha_n"] == 3
    assert summary["iou"] is None or 0 <= summary["iou"] <= 1
    assert summary["swap_choice_n"] <= summary["iou_n"]


def test_teacher_scores_a_folder_that_kept_its_teacher(tmp_path, model_dir, capsys):
    import tdm

    tdm.build_pipeline("tiny", with_teacher=True).save_pretrained(tmp_path / "run")
    assert main(["--model", str(tmp_path / "run"), "--teacher", "--count", "2", "--size", "64", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scored"] == "teacher" and summary["scenes"] == 2
    assert main(["--model", str(model_dir), "--teacher", "--size", "64"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds no teacher" in err


def test_the_oracle_is_the_ceiling_of_a_teacher(capsys):
    """A perfect teacher's proxy picks its own instance every time, yet most cells of a
    small instance are transparent, so its IoU at 0.5 is low: the ceiling the --teacher
    figures must be read against."""
    assert main(["--oracle", "--split", "val", "--count", "12", "--seed", "3", "--size", "128", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scored"] == "oracle" and summary["absent_mean_alpha"] in (None, 0)
    assert summary["named_above_others"] > 0.9 and summary["swap_choice"] > 0.9
    assert summary["iou"] < 0.5
    kinds = summary["by_kind"]
    assert sum(k["scenes"] for k in kinds.values()) == summary["iou_n"]
    assert all(k["swap_choice"] is None or k["swap_choice"] > 0.8 for k in kinds.values())
    assert main(["--oracle", "--teacher"]) == 2
    assert "no model" in capsys.readouterr().err


def test_resolution_sets_the_pipelines_processing_side(model_dir, capsys):
    sides = []

    def pipe(image, prompt, resolution=None):
        sides.append(resolution)
        return SimpleNamespace(alpha=np.zeros((1, *image.shape[:2]), np.float32))
    image = np.zeros((8, 8, 3), np.uint8)
    pipeline_predictor(pipe, 192)(image, "the zebra")
    pipeline_predictor(pipe)(image, "the zebra")
    assert sides == [192, None]
    assert main(["--model", str(model_dir), "--resolution", "128", "--count", "2", "--size", "64", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scenes"] == 2
    for bad in (["--resolution", "100"], ["--resolution", "128", "--teacher"]):
        assert main(["--model", str(model_dir), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--resolution" in err
