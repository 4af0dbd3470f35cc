"""tdm-eval: metrics aggregation and the CLI on a tiny random pipeline."""
import json

import cv2
import numpy as np
import pytest
import torch

import real_layouts
from pipelines import evaluate
from tdm.data.image_matting import open_folder_set


class _Pipe:
    """Stands in for TDMPipeline: returns a fixed offset of the ground truth (``truth(i)``,
    by default the dataset's sample)."""

    def __init__(self, dataset, offset, truth=None):
        self.offset, self.calls = offset, []
        self.truth = truth or (lambda i: dataset[i]["alpha"][0].numpy())

    def __call__(self, image, prompt, resolution=None, output_type="np", square=False):
        index = len(self.calls)
        self.calls.append((image.shape, prompt) + ((square,) if square else ()))
        return type("Out", (), {"alpha": np.clip(self.truth(index) + self.offset, 0, 1)[None]})


class _Clips(list):
    """Two clips of two frames each, with ``locate`` like VideoMattingDataset (one object per clip)."""

    clips = (object(), object())

    def locate(self, index):
        return self.clips[index // 2], index % 2


def _sample(value, text="the cat"):
    alpha = torch.full((1, 8, 8), value)
    return {"image": torch.zeros(3, 8, 8), "alpha": alpha, "text": text, "source": "test"}


def test_evaluate_means_and_prompts():
    data = [_sample(0.2, "a"), _sample(0.4, "b")]
    pipe = _Pipe(data, 0.1)
    summary = evaluate.evaluate(pipe, data)
    assert summary["samples"] == 2
    assert summary["sad"] == pytest.approx(64 * 0.1 / 1000)
    assert summary["mse"] == pytest.approx(0.01)
    assert "dtssd" not in summary
    assert pipe.calls == [((8, 8, 3), "a"), ((8, 8, 3), "b")]


def test_full_resolution_protocol_scores_each_image_at_its_own_size(tmp_path):
    """Tables 2/10: the model gets the 48x64 file, not the 32x32 sample, and SAD sums over
    48x64 pixels; --prompt replaces the captions, --square reaches the pipeline."""
    root = real_layouts.make_am2k(tmp_path / "AM-2k")
    data = open_folder_set("am2k", root, size=32, split="test", augment=False)
    native = cv2.imread(str(root / "validation/mask/m_test.png"), 0) / 255.0
    resized = evaluate.evaluate(_Pipe(data, 0.0, lambda i: np.zeros((32, 32))), data)
    assert resized["sad"] == pytest.approx(data[0]["alpha"].sum().item() / 1000, rel=1e-4)
    pipe = _Pipe(data, 0.0, lambda i: np.zeros((48, 64)))
    full = evaluate.evaluate(pipe, data, full_resolution=True, square=True, prompt="the foreground animal")
    assert pipe.calls == [((48, 64, 3), "the foreground animal", True)]
    assert full["sad"] == pytest.approx(native.sum() / 1000, rel=1e-4)
    assert full["mse"] == pytest.approx((native ** 2).mean(), rel=1e-4)
    with pytest.raises(evaluate.UsageError):  # a video clip has no record to read again
        evaluate.evaluate(_Pipe(None, 0.0, lambda i: np.zeros((8, 8))), _Clips([_sample(0.2)]),
                          full_resolution=True)


def test_evaluate_video_metrics_per_clip_and_limit():
    data = _Clips([_sample(0.2), _sample(0.3), _sample(0.5), _sample(0.6)])
    summary = evaluate.evaluate(_Pipe(data, 0.1), data)
    assert summary["dtssd"] == pytest.approx(0.0, abs=1e-4)  # the same error on every frame
    assert summary["messddt"] == pytest.approx(0.0, abs=1e-4)
    assert evaluate.evaluate(_Pipe(data, 0.0), data, limit=1)["samples"] == 1


def test_video_metrics_group_the_frames_of_each_clip(tmp_path):
    """On a real VideoMattingDataset: the prediction is off by +0.1 on one clip and -0.1 on
    the other, the same on every frame of a clip, so dtSSD is 0 only if no clip's frames
    are joined to another clip's (the frame between them would jump by 0.2)."""
    from tdm.data import VideoClip, VideoMattingDataset

    clips = []
    for c in range(2):
        for kind in ("frames", "alpha"):
            (tmp_path / f"{kind}{c}").mkdir()
            for f in range(2):
                cv2.imwrite(str(tmp_path / f"{kind}{c}" / f"{f}.png"), np.full((8, 8), 100 + 20 * f, np.uint8))
        clips.append(VideoClip(tmp_path / f"frames{c}", tmp_path / f"alpha{c}", ("the cat",), 2))
    data = VideoMattingDataset(clips, size=8, augment=False)
    pipe = _Pipe(data, 0.0, lambda i: data[i]["alpha"][0].numpy() + (0.1 if i < 2 else -0.1))
    summary = evaluate.evaluate(pipe, data)
    assert summary["mse"] == pytest.approx(0.01, rel=1e-4)
    assert summary["dtssd"] == pytest.approx(0.0, abs=1e-6)


def test_sample_pair_gives_pixels_in_hwc_and_the_alpha():
    image = torch.tensor([-1.0, 0.0, 1.0]).view(3, 1, 1).expand(3, 2, 4)
    alpha = torch.rand(1, 2, 4)
    pixels, gt = evaluate.sample_pair({"image": image, "alpha": alpha})
    assert pixels.dtype == np.uint8 and pixels.shape == (2, 4, 3)
    assert (pixels == np.array([0, 128, 255], dtype=np.uint8)).all()
    assert np.array_equal(gt, alpha[0].numpy())


def test_cli_on_a_tiny_saved_pipeline(tmp_path, capsys):
    tdm = pytest.importorskip("tdm")
    pipe = tdm.build_pipeline("tiny", seed=0, device="cpu")
    pipe.save_pretrained(tmp_path / "model")
    code = evaluate.main(["--model", str(tmp_path / "model"), "--data", "synthetic:length=2", "--size", "64",
                          "--json", "--device", "cpu"])
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out.strip().splitlines()[-1])
    assert summary["samples"] == 2
    assert all(summary[k] >= 0 for k in ("sad", "mse", "grad", "conn"))


def test_cli_full_resolution_square_on_a_real_layout(tmp_path, capsys):
    tdm = pytest.importorskip("tdm")
    tdm.build_pipeline("tiny", seed=0, device="cpu").save_pretrained(tmp_path / "model")
    root = real_layouts.make_p3m(tmp_path / "P3M-10k")
    args = ["--model", str(tmp_path / "model"), "--data", f"p3m:{root}/validation/P3M-500-P,split=test",
            "--json", "--device", "cpu", "--size", "32"]
    assert evaluate.main(args + ["--full-resolution", "--square", "--prompt", "the foreground person"]) == 0
    full = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluate.main(args) == 0
    resized = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert full["samples"] == resized["samples"] == 1
    assert full["sad"] != resized["sad"]


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert evaluate.main(["--model", str(tmp_path / "missing"), "--data", "synthetic:length=1"]) == 2
    assert evaluate.main(["--model", str(tmp_path), "--data", "nosuchset:/x"]) == 2
    assert evaluate.main(["--data", "synthetic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("tdm-eval: error:") for line in err)


def test_an_unreadable_video_in_the_data_is_a_usage_error(tmp_path, capsys):
    """A video: root whose clip is not a video (VideoError while counting its frames) is
    bad input: exit 2 as the docstring says (it was 1), one line naming the file."""
    for folder in ("fgr", "pha"):
        (tmp_path / "vm" / folder).mkdir(parents=True)
        (tmp_path / "vm" / folder / "clip.mp4").write_bytes(b"garbage" * 100)
    assert evaluate.main(["--model", str(tmp_path), "--data", f"video:{tmp_path / 'vm'}"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("tdm-eval: error:") and "clip.mp4" in line and "--debug" not in line, line
