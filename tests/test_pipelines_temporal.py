"""Temporal stabiliser: smoother on flicker, harmless on a correct matte, reset at cuts and
entries, chunked == sequential within TOLERANCE; the flicker metric; held-out clips."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from pipelines import temporal
from pipelines.cli import build_parser, options_from
from pipelines.clip_eval import score_clips
from pipelines.evaluate import evaluate
from pipelines.quantize import dequantize, quantize
from tdm import metrics
from tdm.data import open_dataset

H, W = 48, 64


def texture(t: int, shift: int = 1, seed: int = 0) -> np.ndarray:
    """(H,W,3) uint8 smooth random texture, panned `shift` px per frame."""
    base = cv2.resize(np.random.default_rng(seed).integers(0, 256, (8, 16, 3), dtype=np.uint8),
                      (W + 64, H), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(base[:, t * shift:t * shift + W])


def disc(cx: float, r: float = 12.0) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return np.clip(r - np.hypot(xx - cx, yy - H / 2), 0, 1).astype(np.float32)


def static_clip(frames: int = 12):
    """A still textured scene and a disc matte: frames (T,H,W,3), ground truth (T,H,W)."""
    return np.stack([texture(0)] * frames), np.stack([disc(32)] * frames)


def test_flickering_matte_gets_smoother_and_a_correct_one_stays():
    frames, gts = static_clip()
    noise = np.random.default_rng(1).normal(0, 0.15, gts.shape).astype(np.float32)
    flickering = np.clip(gts + noise * (gts > 0), 0, 1)
    smooth = temporal.stabilise_clip(frames, flickering)
    assert metrics.dtssd(smooth, gts) < 0.6 * metrics.dtssd(flickering, gts)
    assert metrics.flicker(smooth, frames) < 0.6 * metrics.flicker(flickering, frames)
    assert np.abs(temporal.stabilise_clip(frames, gts) - gts).max() < 1e-5


def test_a_frame_above_the_working_size_is_stabilised_there_and_keeps_its_own_detail(monkeypatch):
    monkeypatch.setattr(temporal, "WORK_SIDE", 32)  # 48x64 frames work at 24x32
    frames, gts = static_clip()
    checks = np.indices((H, W)).sum(axis=0) % 2  # one-pixel detail the working size cannot hold
    detailed = gts * (1 - 0.3 * checks)
    gains = np.random.default_rng(1).uniform(0.5, 1.0, (len(gts), 1, 1)).astype(np.float32)
    smooth = temporal.stabilise_clip(frames, detailed * gains)  # the whole matte pumps
    assert smooth.shape == gts.shape
    assert metrics.dtssd(smooth, detailed) < 0.6 * metrics.dtssd(detailed * gains, detailed)
    assert np.abs(temporal.stabilise_clip(frames, detailed) - detailed).max() < 1e-5


def test_a_cut_resets_the_state():
    frames = np.stack([texture(t, seed=0) for t in range(4)] + [texture(t, seed=9)[::-1] for t in range(4)])
    alphas = np.stack([disc(20)] * 4 + [disc(44)] * 4) * 0.9
    alphas[5] = disc(44) * 0.5  # the model dims the matte again one frame later
    stabiliser = temporal.Stabiliser()
    out = [stabiliser.push(f, a[None]) for f, a in zip(frames, alphas)][1:] + [stabiliser.flush()]
    assert stabiliser.cuts == 1
    assert np.array_equal(out[4][0], alphas[4])  # the first frame after the cut: the model's own
    assert np.abs(out[5][0] - alphas[5]).max() > 0.1  # within the new scene it smooths again


def test_a_one_frame_error_is_dropped_and_never_carried_past_a_cut():
    frames = np.stack([texture(0, seed=0)] * 6 + [texture(0, seed=9)[::-1]] * 6)  # two still scenes
    alphas = np.stack([disc(20)] * 6 + [disc(44)] * 6)
    blob = disc(10, 6)
    wrong = alphas.copy()
    wrong[2] = np.maximum(wrong[2], 0.8 * blob)  # a blob for one frame mid-scene
    wrong[3] = wrong[3] * (1 - 0.9 * disc(20, 6))  # a dropout the frame after
    wrong[6] = np.maximum(wrong[6], 0.8 * blob)  # a blob on the first frame after the cut
    out = temporal.stabilise_clip(frames, wrong)
    assert np.abs(out[2] - alphas[2]).max() < 0.05 and np.abs(out[3] - alphas[3]).max() < 0.05
    assert np.array_equal(out[6], wrong[6])  # no earlier frame to check it against: as given
    assert np.abs(out[7] - alphas[7]).max() < 0.02  # ... and not smeared into the next one


def test_an_entering_object_is_taken_as_the_model_gives_it():
    frames = np.stack([texture(t) for t in range(8)])
    ball = disc(32, 8)
    for t in range(4, 8):  # a red ball appears from frame 4 on
        frames[t][ball > 0.5] = (220, 30, 30)
    alphas = np.stack([np.zeros((H, W), np.float32)] * 4 + [ball] * 4)
    out = temporal.stabilise_clip(frames, alphas)
    inside = ball > 0.99
    assert np.abs(out[4][inside] - 1).max() < 0.05


def test_a_matte_that_went_to_zero_keeps_no_trail_of_the_state():
    frames = np.stack([texture(0)] * 20)  # a still scene: every pixel matches its neighbours
    alphas = np.stack([disc(32)] * 6 + [np.zeros((H, W), np.float32)] * 14)  # the model lets go
    out = temporal.stabilise_clip(frames, alphas)
    assert np.all(np.diff(out[5:].max(axis=(1, 2))) <= 0)  # it fades out ...
    assert not out[-4:].any()  # ... to exactly 0: a pull under DEADBAND is not made


def run_span(matter, frames: np.ndarray, first: int, stop: int, batch: int) -> np.ndarray:
    """temporal.matted over frames[first:stop] in batches, stabilised -> (stop-first, H, W)
    float alpha."""
    batches = [[SimpleNamespace(rgb=f) for f in frames[s:min(s + batch, stop)]] for s in range(first, stop, batch)]
    return np.concatenate([dequantize(a)[0] for _, _, a in temporal.matted(batches, matter, True)])


@pytest.mark.parametrize("work_side", [temporal.WORK_SIDE, 32])
def test_a_chunk_warmed_up_and_looking_ahead_equals_the_sequential_run_within_tolerance(monkeypatch, work_side):
    monkeypatch.setattr(temporal, "WORK_SIDE", work_side)
    frames = np.stack([texture(t) for t in range(48)])
    rng = np.random.default_rng(2)
    flicker = np.stack([np.clip(disc(30 + t * 0.5) + rng.normal(0, 0.3, (H, W)), 0, 1) for t in range(48)])
    by_frame = {f.tobytes(): quantize(a) for f, a in zip(frames, flicker)}
    matter = lambda rgb: np.stack([by_frame[f.tobytes()] for f in rgb])[None]  # noqa: E731
    job = SimpleNamespace(start=0, stop=48, batch_size=4)
    chunk = SimpleNamespace(start=24, stop=36)
    first, stop = temporal.chunk_span(job, chunk)
    assert first % 4 == 0 and chunk.start - first >= temporal.WARMUP and stop == 40
    sequential = run_span(matter, frames, 0, 48, 4)[24:36]
    chunked = run_span(matter, frames, first, stop, 4)[chunk.start - first:chunk.stop - first]
    cold = run_span(matter, frames, 24, stop, 4)[:12]
    blind = run_span(matter, frames, first, 36, 4)[chunk.start - first:]  # no look-ahead
    assert np.abs(chunked - sequential).max() <= temporal.TOLERANCE + 2 / 65535
    assert np.abs(cold - sequential).max() > temporal.TOLERANCE  # the warm-up is needed
    assert np.abs(blind[-1] - sequential[-1]).max() > temporal.TOLERANCE  # and so is the look-ahead
    assert temporal.chunk_span(job, SimpleNamespace(start=8, stop=12)) == (0, 16)  # never before the job
    assert temporal.chunk_span(job, SimpleNamespace(start=44, stop=48)) == (28, 48)  # nor after it


def test_the_stream_gives_every_batch_back_in_order_with_its_frames():
    frames = np.stack([texture(t) for t in range(8)])
    matter = lambda rgb: quantize(np.stack([disc(30)] * len(rgb))[None].repeat(2, axis=0))  # noqa: E731
    for sizes in ((3, 3, 2), (1,), (8,)):
        starts = np.cumsum((0,) + sizes)
        batches = [[SimpleNamespace(rgb=f) for f in frames[a:b]] for a, b in zip(starts, starts[1:])]
        out = list(temporal.matted(iter(batches), matter, True))
        assert [b for b, _, _ in out] == batches
        assert [a.shape for _, _, a in out] == [(2, n, H, W) for n in sizes]
        assert all(np.array_equal(rgb, np.stack([f.rgb for f in b])) for b, rgb, _ in out)
    assert list(temporal.matted([], matter, True)) == []


def test_flicker_metric_needs_no_ground_truth():
    frames = np.stack([texture(t, shift=2) for t in range(6)])
    moving = np.stack([disc(20 + 2 * t) for t in range(6)])  # moves with the texture
    frames = np.stack([np.where(m[..., None] > 0.5, 255, f).astype(np.uint8) for f, m in zip(frames, moving)])
    steady = metrics.flicker(moving, frames)
    blinking = moving * np.array([1, 0.3] * 3, np.float32)[:, None, None]
    assert steady < 5.0 and metrics.flicker(blinking, frames) > 5 * steady
    with pytest.raises(ValueError):
        metrics.flicker(moving[:1], frames[:1])


def test_held_out_clips_have_a_cut_and_are_scored_with_and_without_the_stabiliser():
    data = open_dataset("clips:length=2,frames=6", size=48)
    assert len(data) == 12 and data.locate(7)[1] == 1
    first, second = data.locate(0)[0], data.locate(6)[0]
    assert first is data.locate(5)[0] and first is not second and first.name != second.name
    clip = data.clip(0)
    assert clip.cut == 3 and clip.frames.shape == (6, 48, 48, 3) and len(set(clip.texts)) <= 2
    assert open_dataset("clips:length=1,frames=4,seed=5", size=48).clip(0).name == "clip5"

    class Pipe:  # the ground truth with noise
        rng = np.random.default_rng(3)

        def __call__(self, image, prompt, **kwargs):
            index = len(self.seen) if hasattr(self, "seen") else 0
            self.seen = getattr(self, "seen", []) + [prompt]
            gt = data[index]["alpha"][0].numpy()
            return SimpleNamespace(alpha=np.clip(gt + self.rng.normal(0, 0.2, gt.shape), 0, 1)[None])

    summary = evaluate(Pipe(), data)
    assert [c["clip"] for c in summary["clips"]] == [first.name, second.name]
    assert set(summary["stabilised"]) == {"sad", "mse", "dtssd", "messddt", "flicker"}
    assert summary["stabilised"]["dtssd"] < summary["dtssd"]
    assert score_clips({}, {}) == {}


def test_no_stabilise_option():
    args = ["in.mp4", "-p", "x", "-o", "out.mkv"]
    assert options_from(build_parser().parse_args(args)).stabilise is True
    assert options_from(build_parser().parse_args(args + ["--no-stabilise"])).stabilise is False
