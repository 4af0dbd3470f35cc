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


def test_a_cut_resets_the_state():
    frames = np.stack([texture(t, seed=0) for t in range(4)] + [texture(t, seed=9)[::-1] for t in range(4)])
    alphas = np.stack([disc(20)] * 4 + [disc(44)] * 4) * 0.9
    alphas[5] = disc(44) * 0.5  # the model dims the matte again one frame later
    stabiliser = temporal.Stabiliser()
    out = [stabiliser(f, a[None])[0] for f, a in zip(frames, alphas)]
    assert stabiliser.cuts == 1
    assert np.array_equal(out[4], alphas[4])  # the first frame after the cut: the model's own
    assert np.abs(out[5] - alphas[5]).max() > 0.1  # within the new scene it smooths again


def test_an_entering_object_is_taken_as_the_model_gives_it():
    frames = np.stack([texture(t) for t in range(8)])
    ball = disc(32, 8)
    for t in range(4, 8):  # a red ball appears from frame 4 on
        frames[t][ball > 0.5] = (220, 30, 30)
    alphas = np.stack([np.zeros((H, W), np.float32)] * 4 + [ball] * 4)
    out = temporal.stabilise_clip(frames, alphas)
    inside = ball > 0.99
    assert np.abs(out[4][inside] - 1).max() < 0.05


def run_from(matter, frames: np.ndarray, first: int, batch: int) -> np.ndarray:
    """A StabilisedMatter over frames[first:] in batches -> (T-first, H, W) float alpha."""
    stabilised = temporal.StabilisedMatter(matter)
    return np.concatenate([dequantize(stabilised(frames[s:s + batch]))[0]
                           for s in range(first, len(frames), batch)])


def test_a_chunk_warmed_up_equals_the_sequential_run_within_tolerance():
    frames = np.stack([texture(t) for t in range(40)])
    rng = np.random.default_rng(2)
    flicker = np.stack([np.clip(disc(30 + t * 0.5) + rng.normal(0, 0.3, (H, W)), 0, 1) for t in range(40)])
    by_frame = {f.tobytes(): quantize(a) for f, a in zip(frames, flicker)}
    matter = lambda rgb: np.stack([by_frame[f.tobytes()] for f in rgb])[None]  # noqa: E731
    job = SimpleNamespace(start=0, batch_size=4)
    chunk = SimpleNamespace(start=24, stop=40)
    first = temporal.warmup_start(job, chunk)
    assert first % 4 == 0 and chunk.start - first >= temporal.WARMUP
    sequential = run_from(matter, frames, 0, 4)[24:]
    chunked = run_from(matter, frames, first, 4)[chunk.start - first:]
    cold = run_from(matter, frames, 24, 4)
    assert np.abs(chunked - sequential).max() <= temporal.TOLERANCE + 2 / 65535
    assert np.abs(cold - sequential).max() > temporal.TOLERANCE  # the warm-up is needed
    assert temporal.warmup_start(job, SimpleNamespace(start=8, stop=12)) == 0  # never before the job


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
