"""Local streaming executor through `pipelines.matte_video`: outputs, prompts, ranges, failures."""
from __future__ import annotations

import av
import numpy as np
import pytest
import torch

import pipelines
import tdm
import video
from pipelines import UsageError
from pipelines.job import prepare_job
from pipelines.options import MatteOptions, expand_outputs
from pipelines_fixtures import CLIP_FRAMES, FAST, alpha_of, clip, times_of
from video.segments import SegmentEncoder


@pytest.fixture(scope="module")
def two_prompt_run(tmp_path_factory, clip_path, model_dir):
    """One pass: two prompts x (lossless matte + composite) = four files, each frame the
    model's own matte (no temporal stabiliser)."""
    out = tmp_path_factory.mktemp("local")
    result = pipelines.matte_video(clip_path, ["the white square", "the sky"],
                                   [str(out / "matte.mkv"), str(out / "comp.mp4")],
                                   output_type=["alpha", "composite"], background="green",
                                   model=model_dir, stabilise=False, **FAST)
    return out, result


def test_one_pass_writes_every_prompt_and_output(two_prompt_run, clip_path):
    out, result = two_prompt_run
    names = sorted(p.name for p in out.iterdir())
    assert names == ["comp.the-sky.mp4", "comp.the-white-square.mp4",
                     "matte.the-sky.mkv", "matte.the-white-square.mkv"]
    assert result["frames"] == CLIP_FRAMES and result["executor"] == "local"
    assert sorted(result["outputs"]) == sorted(str(out / n) for n in names)
    src = video.probe(clip_path)
    for name in names:
        info = video.probe(out / name)
        assert (info.num_frames, info.width, info.height) == (CLIP_FRAMES, 64, 48)
        assert info.has_audio, name
        assert times_of(out / name) == times_of(clip_path)
    assert abs(video.probe(out / "comp.the-sky.mp4").duration - src.duration) < 1e-3


def test_mattes_are_the_models_for_each_prompt(two_prompt_run, clip_path, model_dir):
    """The file holds, frame by frame, what the model says for that prompt (not swapped)."""
    out, _ = two_prompt_run
    pipe = tdm.TDMPipeline.from_pretrained(model_dir)
    rgb = np.stack([f.rgb for f in video.read_frames(clip_path)])
    text = pipe.encode_prompt(["the white square", "the sky"])
    for p, name in enumerate(["matte.the-white-square.mkv", "matte.the-sky.mkv"]):
        want = np.concatenate([
            pipe.predict_alpha(pipe.encode_images(rgb[i:i + 4], resolution=64), text[p:p + 1]).alpha.numpy()
            for i in range(0, len(rgb), 4)])
        got = alpha_of(out / name).astype(np.float32) / 255
        assert np.abs(got - want).max() <= 1 / 255 + 1e-6, name
    assert not np.array_equal(alpha_of(out / "matte.the-sky.mkv"),
                              alpha_of(out / "matte.the-white-square.mkv"))


class CountingPipe:
    """A real pipeline that counts the split-API calls made on it."""

    def __init__(self, pipe):
        self.pipe, self.calls = pipe, {"encode_prompt": 0, "encode_images": 0, "predict_alpha": 0}
        self.dtype = pipe.dtype

    def to(self, *args, **kwargs):
        return self

    def __getattr__(self, name):
        attr = getattr(self.pipe, name)
        if name in self.calls:
            def counted(*args, **kwargs):
                self.calls[name] += 1
                return attr(*args, **kwargs)
            return counted
        return attr


def test_prompt_encoded_once_and_latents_shared(tmp_path, clip_path):
    spy = CountingPipe(tdm.build_pipeline("tiny", seed=0))
    pipelines.matte_video(clip_path, ["a", "b", "c"], str(tmp_path / "m.mkv"), output_type="alpha",
                          model=spy, start=2, end=10, **FAST)
    batches = 2  # frames 2..9 in batches of 4
    assert spy.calls == {"encode_prompt": 1, "encode_images": batches, "predict_alpha": 3 * batches}


def test_frame_range_keeps_source_timestamps(tmp_path, clip_path, model_dir):
    result = pipelines.matte_video(clip_path, "the square", str(tmp_path / "part.mkv"),
                                   output_type="alpha", model=model_dir, start=3, end="0.3s", **FAST)
    assert result["frames"] == 6  # frames 3..8: 0.3 s at 30 fps is frame 9, exclusive
    assert times_of(tmp_path / "part.mkv") == times_of(clip_path)[3:9]


def test_absent_object_gives_an_empty_matte(tmp_path, clip_path, monkeypatch):
    """A model that finds nothing (NaN or zeros) yields an all-zero matte, not a crash."""
    pipe = tdm.build_pipeline("tiny", seed=0)
    monkeypatch.setattr(pipe, "predict_alpha",
                        lambda enc, text: tdm.TDMPipelineOutput(
                            alpha=torch.full((enc.latents.shape[0], 48, 64), float("nan"))))
    pipelines.matte_video(clip_path, "a unicorn", str(tmp_path / "none.mkv"), output_type="alpha",
                          model=pipe, **FAST)
    alpha = alpha_of(tmp_path / "none.mkv")
    assert alpha.shape == (CLIP_FRAMES, 48, 64) and not alpha.any()


@pytest.mark.parametrize("where", ["png frame", "video segment"])
def test_writer_failure_mid_video_leaves_no_file(tmp_path, clip_path, monkeypatch, where):
    """A PNG folder's writer thread or a video output's encode thread fails at frame 6:
    the error reaches the caller and no output (nor a part of one) is left."""
    cls = video.VideoWriter if where == "png frame" else SegmentEncoder
    original = cls.write

    def failing(self, frame, alpha, foreground=None):
        if frame.index == 6:
            raise video.VideoError("disk full")
        original(self, frame, alpha, foreground)

    monkeypatch.setattr(cls, "write", failing)
    with pytest.raises(video.VideoError, match="disk full"):
        pipelines.matte_video(clip_path, ["a", "b"], [str(tmp_path / "a.mkv"), str(tmp_path / "b")],
                              output_type="alpha", model=tdm.build_pipeline("tiny", seed=0),
                              encode_threads=2, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_video_outputs_are_the_same_bytes_for_any_number_of_encode_threads(tmp_path, model_dir):
    """Video outputs are encoded a chunk at a time on a pool of threads (foreground colour
    included) and joined: a keyframe at each chunk, the source's timestamps and audio,
    and the same bytes on 2 or 3 threads."""
    src = clip(tmp_path / "a.mp4", frames=10)
    names, kinds = ["m.mp4", "c.webm", "p.mov", "f"], ["alpha", "rgba", "preview", "rgba"]
    for threads in (2, 3):
        (tmp_path / f"t{threads}").mkdir()
        pipelines.matte_video(src, "the white square", [str(tmp_path / f"t{threads}" / n) for n in names],
                              output_type=kinds, model=model_dir, chunk_frames=4, encode_threads=threads, **FAST)
    for name in names[:3]:
        one, three = tmp_path / "t2" / name, tmp_path / "t3" / name
        assert one.read_bytes() == three.read_bytes(), name
        assert times_of(one) == times_of(src) and video.probe(str(one)).has_audio
        with av.open(str(one)) as c:
            stream = c.streams.video[0]
            starts = sorted(p.pts for p in c.demux(stream) if p.size and p.is_keyframe)
            assert [times_of(src).index(round(float(t * stream.time_base), 3)) for t in starts] == [0, 4, 8]
    rgba, frames = alpha_of(tmp_path / "t2" / "c.webm"), alpha_of(tmp_path / "t2" / "f")
    assert rgba.shape == (10, 48, 64) and np.abs(rgba.astype(int) - frames).mean() < 2
    assert np.abs(alpha_of(tmp_path / "t2" / "m.mp4").astype(int) - frames).mean() < 1.5


def test_output_naming_scheme():
    opts = MatteOptions()
    specs = expand_outputs(["out/m.webm", "out/frames"], ["The left zebra!", "the dog", "THE DOG"], opts)
    assert [str(s.path) for s in specs] == [
        "out/m.the-left-zebra.webm", "out/m.the-dog.webm", "out/m.the-dog-2.webm",
        "out/frames-the-left-zebra", "out/frames-the-dog", "out/frames-the-dog-2"]
    assert {s.kind for s in specs} == {"rgba"}
    one = expand_outputs(["{stem}-{prompt}.mp4"], ["a b"], opts, stem="clip")
    assert [(str(s.path), s.kind) for s in one] == [("clip-a-b.mp4", "alpha")]


def test_chunk_plan_ignores_workers_and_aligns_with_batches(clip_path, tmp_path):
    opts = MatteOptions.from_kwargs(batch_size=4, chunk_frames=6, num_workers=1)
    job = prepare_job(clip_path, "x", str(tmp_path / "o.mkv"), opts)
    plan = [(c.start, c.stop) for c in job.chunks()]
    assert plan == [(0, 4), (4, 8), (8, 12)]  # 6 rounded down to a multiple of the batch
    job.options.num_workers = 7
    assert [(c.start, c.stop) for c in job.chunks()] == plan


def test_unknown_python_option_is_refused(clip_path, tmp_path):
    with pytest.raises(UsageError, match="unknown option.*bach_size"):
        pipelines.matte_video(clip_path, "x", str(tmp_path / "o.mkv"), bach_size=2)


def test_batch_refuses_a_second_video_writing_the_same_output(tmp_path, clip_path, model_dir):
    from pipelines.batch import collect, run_batch

    (tmp_path / "jobs.jsonl").write_text(
        f'{{"input": "{clip_path}", "prompt": "the white square", "output": "same.mkv"}}\n'
        f'{{"input": "{clip_path}", "prompt": "the sky", "output": "same.mkv"}}\n')
    opts = MatteOptions(output_type="alpha", model=model_dir, **FAST)
    result = run_batch(collect([str(tmp_path / "jobs.jsonl")], [], []), opts)
    assert len(result["succeeded"]) == 1 and len(result["failed"]) == 1
    assert "also the output of" in result["failed"][0]["error"]
    first = pipelines.matte_video(clip_path, "the white square", str(tmp_path / "first.mkv"),
                                  output_type="alpha", model=model_dir, **FAST)
    assert first["frames"] == CLIP_FRAMES
    assert np.array_equal(alpha_of(tmp_path / "same.mkv"), alpha_of(tmp_path / "first.mkv"))


def test_local_cpu_run_leaves_a_core_to_reading_and_writing(tmp_path, clip_path, model_dir):
    """On CPU the model gets one torch thread fewer than the process has (the reader,
    stabiliser and writers get the other), `threads` overrides it, and the process's count
    comes back after the run."""
    before = torch.get_num_threads()
    default = pipelines.matte_video(clip_path, "the white square", str(tmp_path / "a.mkv"),
                                    model=model_dir, **FAST)
    assert default["threads"] == max(1, before - 1)
    assert torch.get_num_threads() == before
    chosen = pipelines.matte_video(clip_path, "the white square", str(tmp_path / "b.mkv"),
                                   model=model_dir, threads=2, **FAST)
    assert chosen["threads"] == 2 and torch.get_num_threads() == before
