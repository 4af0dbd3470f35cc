"""pipelines.foreground: the torch blur fusion equals video's numpy one within one level,
and F estimated in the executor reaches the colour outputs in place of the writer's own."""
import numpy as np
import pytest
import torch

import video
from media.pixels import to_uint8
from pipelines.foreground import Foregrounds, box_blur, estimate_foreground
from pipelines.job import prepare_job
from pipelines.local import run_local
from pipelines.options import MatteOptions
from pipelines.progress import Progress
from pipelines.quantize import dequantize, quantize
from test_video_compose import generated_frame
from video.compose import estimate_foreground as estimate_foreground_cpu
from video.synth import pattern_alpha


@pytest.mark.parametrize("size,k", [((40, 70), 7), ((40, 70), 91), ((3, 1), 5)])
def test_box_blur_is_cv2_blur(size, k):
    import cv2

    x = np.random.default_rng(1).random(size, dtype=np.float32)
    ours = box_blur(torch.from_numpy(x)[None, None], k)[0, 0].numpy()
    assert np.abs(ours - cv2.blur(x, (k, k))).max() < 1e-6


@pytest.mark.parametrize("size", [(270, 480), (20, 30)], ids=["270x480", "smaller-than-blur"])
def test_torch_estimate_equals_numpy_within_one_level(size):
    frames = [generated_frame(*size, seed=s) for s in (0, 1)]  # a batch of two
    image = torch.from_numpy(np.stack([f for f, _ in frames])).permute(0, 3, 1, 2).float() / 255
    alpha = torch.from_numpy(np.stack([a for _, a in frames]))[:, None]
    ours = estimate_foreground(image, alpha).permute(0, 2, 3, 1).numpy()
    for i, (frame, a) in enumerate(frames):
        diff = np.abs(to_uint8(ours[i]).astype(int) - to_uint8(estimate_foreground_cpu(frame, a)).astype(int))
        assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_foregrounds_only_for_the_colour_prompts():
    frames = np.stack([generated_frame(30, 40, seed=s)[0] for s in (0, 1)])
    alphas = quantize(np.stack([np.stack([generated_frame(30, 40, seed=s)[1] for s in (0, 1)])] * 3))
    out = Foregrounds([2, 0], "cpu")(frames, alphas)
    assert sorted(out) == [0, 2]
    assert out[2].dtype == np.uint8 and out[2].shape == (2, 30, 40, 3)
    assert np.array_equal(out[2][1], to_uint8(estimate_foreground_cpu(frames[1], dequantize(alphas[2, 1]))))
    assert Foregrounds([], "cpu")(frames, alphas) == {}
    assert Foregrounds([1], "cpu")(frames[:0], alphas[:, :0])[1].shape == (0, 30, 40, 3)


def test_run_local_ships_its_foreground_to_the_colour_output(tmp_path, clip_path, monkeypatch):
    """An rgba .mkv (lossless) holds F as the executor estimated it; the writer itself
    estimates nothing (its estimate_foreground is made to fail)."""
    def matter(rgb):
        return quantize(np.stack([pattern_alpha(0, rgb.shape[2], rgb.shape[1])] * len(rgb))[None])

    shipped = []
    real = Foregrounds.__call__

    def spy(self, rgb, alphas):
        out = real(self, rgb, alphas)
        shipped.extend(out[0])
        return out

    monkeypatch.setattr(Foregrounds, "__call__", spy)
    monkeypatch.setattr("video.encoding.estimate_foreground", lambda *a: 1 / 0)
    out = tmp_path / "fg.mkv"
    job = prepare_job(clip_path, "x", [str(out), str(tmp_path / "matte.mp4")],
                      MatteOptions(batch_size=4, stabilise=False))
    assert job.foreground_prompts() == [0]
    with Progress(job.frames, "t", quiet=True) as bar:
        run_local(job, matter, bar)
    back = list(video.read_frames(str(out), alpha=True))
    assert len(back) == len(shipped) == job.frames
    for frame, fg in zip(back, shipped):
        assert np.array_equal(frame.rgb, fg)


def test_ray_workers_ship_their_foreground(ray_local, tmp_path, clip_path, model_dir, monkeypatch):
    """On Ray, F is estimated on the actors: the driver's writers estimate nothing and the
    driver decodes nothing; a preview (it shows the source), encoded on the actors too,
    equals the local one."""
    import pipelines

    options = dict(model=model_dir, threads=1, chunk_frames=4, resolution=64, quiet=True)
    monkeypatch.setattr("video.encoding.estimate_foreground", lambda *a: 1 / 0)
    out = tmp_path / "ray.mkv"
    with monkeypatch.context() as patch:
        patch.setattr(video, "read_frames", lambda *a, **k: 1 / 0)
        pipelines.matte_video(clip_path, "the square", str(out), ray_address="local", num_workers=1, **options)
    back = list(video.read_frames(str(out), alpha=True))
    assert len(back) == 12 and all(np.ptp(f.rgb) > 0 for f in back)
    monkeypatch.undo()
    for name, executor in (("local", {}), ("ray", {"ray_address": "local", "num_workers": 1})):
        pipelines.matte_video(clip_path, "the square", str(tmp_path / f"{name}.preview.mkv"),
                              output_type="preview", **options, **executor)
    local, ray_ = (np.stack([f.rgb for f in video.read_frames(str(tmp_path / f"{n}.preview.mkv"))])
                   for n in ("local", "ray"))
    assert np.array_equal(local, ray_) and local.shape[2] == 3 * 64  # source | matte | composite
