"""Ray executor on a local instance: same output as local; batch with a corrupt input; resume;
several videos at once, each written as if alone."""
from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import pipelines
import video
from pipelines import distributed
from pipelines.batch import BatchReport, collect, run_batch
from pipelines.engine import Engine
from pipelines.cli import video_main
from pipelines.options import MatteOptions
from video.synth import pattern
from pipelines_fixtures import CLIP_FRAMES, FAST, alpha_of, clip, leftovers, times_of


@pytest.fixture(scope="module")
def local_matte(tmp_path_factory, clip_path, model_dir):
    out = tmp_path_factory.mktemp("reference") / "local.mkv"
    pipelines.matte_video(clip_path, "the white square", str(out), output_type="alpha",
                          model=model_dir, threads=1, **FAST)
    return out


def test_two_cpu_workers_give_the_local_output(ray_local, tmp_path, clip_path, model_dir,
                                               local_matte, monkeypatch):
    out = tmp_path / "ray.mkv"
    with monkeypatch.context() as patch:  # the driver writes mattes from the probe's timing alone
        patch.setattr(distributed.video, "read_frames", lambda *a, **k: 1 / 0)
        result = pipelines.matte_video(clip_path, "the white square", str(out), output_type="alpha",
                                       model=model_dir, ray_address="local", num_workers=2,
                                       chunk_frames=4, threads=1, **FAST)
    assert result["executor"] == "ray" and result["frames"] == CLIP_FRAMES
    assert np.array_equal(alpha_of(out), alpha_of(local_matte))
    assert times_of(out) == times_of(clip_path)


def test_files_join_the_workers_segments_the_same_for_any_worker_count(ray_local, tmp_path, model_dir,
                                                                     monkeypatch):
    """The actors encode each chunk of each video file; the driver decodes, estimates and
    encodes nothing, joins the segments (a keyframe at each chunk) and muxes the audio
    once: the same bytes on 1 or 2 workers, and the local run's mattes."""
    src = clip(tmp_path / "a.mp4", frames=10)
    names, kinds = ["m.mp4", "c.webm", "p.mov"], ["alpha", "rgba", "preview"]
    options = dict(output_type=kinds, model=model_dir, chunk_frames=4, threads=1, **FAST)
    pipelines.matte_video(src, "the white square", [str(tmp_path / f"local.{n}") for n in names], **options)
    for workers in (1, 2):
        (tmp_path / f"w{workers}").mkdir()
        with monkeypatch.context() as patch:
            patch.setattr(distributed.video, "read_frames", lambda *a, **k: 1 / 0)
            patch.setattr("video.encoding.estimate_foreground", lambda *a: 1 / 0)
            patch.setattr("video.encoding.FrameEncoder.encode", lambda *a: 1 / 0)
            pipelines.matte_video(src, "the white square", [str(tmp_path / f"w{workers}" / n) for n in names],
                                  ray_address="local", num_workers=workers, **options)
    for name in names:
        one, two = tmp_path / "w1" / name, tmp_path / "w2" / name
        assert one.read_bytes() == two.read_bytes()
        assert times_of(one) == times_of(src) and video.probe(str(one)).has_audio
        with av.open(str(one)) as c:
            starts = sorted(p.pts for p in c.demux(c.streams.video[0]) if p.size and p.is_keyframe)
            assert [times_of(src).index(round(float(t * c.streams.video[0].time_base), 3)) for t in starts] \
                == [0, 4, 8]
    assert np.abs(alpha_of(tmp_path / "w1" / "m.mp4").astype(int) - alpha_of(tmp_path / "local.m.mp4")).mean() < 1.5
    assert np.abs(alpha_of(tmp_path / "w1" / "c.webm").astype(int) - alpha_of(tmp_path / "local.c.webm")).mean() < 2


def test_square_reaches_the_ray_workers(ray_local, tmp_path, clip_path, model_dir,
                                        local_matte):
    options = dict(output_type="alpha", model=model_dir, threads=1, square=True, **FAST)
    pipelines.matte_video(clip_path, "the white square", str(tmp_path / "local.mkv"), **options)
    pipelines.matte_video(clip_path, "the white square", str(tmp_path / "ray.mkv"), ray_address="local",
                          num_workers=2, chunk_frames=4, **options)
    square = alpha_of(tmp_path / "local.mkv")
    assert np.array_equal(alpha_of(tmp_path / "ray.mkv"), square)
    assert not np.array_equal(square, alpha_of(local_matte))


def test_batch_reports_a_corrupt_video_and_finishes_the_rest(ray_local, tmp_path, model_dir,
                                                            capsys):
    videos, out = tmp_path / "videos", tmp_path / "out"
    videos.mkdir(), out.mkdir()
    clip(videos / "a.mp4", frames=4, audio=False)
    (videos / "b.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 10)
    clip(videos / "c.mp4", frames=4, audio=False)
    argv = [str(videos), "--prompt", "the square", "-o", f"{out}/{{stem}}.mkv", "--output-type",
            "alpha", "--model", model_dir, "--ray-address", "local", "--num-workers", "2",
            "--resolution", "64", "--json"]
    assert video_main(argv) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert [v.rsplit("/", 1)[-1] for v in summary["succeeded"]] == ["a.mp4", "c.mp4"]
    assert [f["input"].rsplit("/", 1)[-1] for f in summary["failed"]] == ["b.mp4"]
    assert "b.mp4" in summary["failed"][0]["error"]
    assert "failed" in captured.err and "Traceback" not in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["a.mkv", "c.mkv"]

    # Resume: a lost output is redone, the finished one is left alone.
    (out / "c.mkv").unlink()
    (videos / "b.mp4").unlink()
    before = (out / "a.mkv").stat().st_mtime_ns
    assert video_main(argv + ["--skip-existing"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [v.rsplit("/", 1)[-1] for v in summary["skipped"]] == ["a.mp4"]
    assert [v.rsplit("/", 1)[-1] for v in summary["succeeded"]] == ["c.mp4"]
    assert (out / "a.mkv").stat().st_mtime_ns == before
    assert alpha_of(out / "c.mkv").shape == (4, 48, 64)
    assert leftovers(out) == []


def test_manifest_gives_each_video_its_prompts_and_output(ray_local, tmp_path, model_dir):
    clip(tmp_path / "x.mp4", frames=4, audio=False)
    (tmp_path / "jobs.jsonl").write_text(
        json.dumps({"input": "x.mp4", "prompts": ["a cat", "a dog"], "output": "x.mkv"}) + "\n"
        + json.dumps({"input": "x.mp4", "prompt": "a hat", "output": "hat.mp4"}) + "\n")
    argv = [str(tmp_path / "jobs.jsonl"), "--model", model_dir, "--ray-address", "local",
            "--num-workers", "1", "--resolution", "64", "--output-type", "alpha", "--quiet"]
    assert video_main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".mkv", ".mp4") and p.stem != "x") \
        == ["hat.mp4", "x.a-cat.mkv", "x.a-dog.mkv"]


def record_chunks(monkeypatch) -> list[tuple[str, str, int]]:
    """Driver-side log of ("sent" | "back", video stem, chunk index), as the scheduler acts."""
    events: list[tuple[str, str, int]] = []
    submit, accept = distributed.WorkerPool.submit, distributed.VideoRun.accept

    def sent(pool, actor, job, chunk):
        events.append(("sent", Path(job.input).stem, chunk.index))
        return submit(pool, actor, job, chunk)

    def back(run, chunk, result):
        events.append(("back", Path(run.job.input).stem, chunk.index))
        return accept(run, chunk, result)

    monkeypatch.setattr(distributed.WorkerPool, "submit", sent)
    monkeypatch.setattr(distributed.VideoRun, "accept", back)
    return events


def most_videos_in_flight(events: list[tuple[str, str, int]]) -> int:
    in_flight: set[tuple[str, int]] = set()
    most = 0
    for kind, stem, index in events:
        (in_flight.add if kind == "sent" else in_flight.discard)((stem, index))
        most = max(most, len({s for s, _ in in_flight}))
    return most


def test_batch_overlaps_videos_and_writes_each_as_alone(ray_local, tmp_path, model_dir,
                                                        monkeypatch):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name, frames in (("a", 8), ("b", 4), ("c", 8)):  # 2, 1 and 2 chunks of 4 frames
        clip(videos / f"{name}.mp4", frames=frames, audio=False)
    options = dict(model=model_dir, threads=1, chunk_frames=4, **FAST)
    outputs = {}
    for executor, extra in (("local", {}), ("ray", {"ray_address": "local", "num_workers": 2})):
        (tmp_path / executor).mkdir()
        items = collect([str(videos)], ["the white square"], [f"{tmp_path / executor}/{{stem}}.mov"])
        if executor == "ray":
            events = record_chunks(monkeypatch)
        outputs[executor] = run_batch(items, MatteOptions(**options, **extra))
    local, ray = outputs["local"], outputs["ray"]
    assert ray["failed"] == [] and [Path(v).stem for v in ray["succeeded"]] == ["a", "b", "c"]
    assert [v["frames"] for v in ray["videos"]] == [8, 4, 8] and ray["frames"] == 20
    assert ray["workers"] == 2 and ray["chunks_retried"] == 0 and ray["workers_lost"] == 0
    for mine, alone in zip(ray["outputs"], local["outputs"]):
        assert Path(mine).read_bytes() == Path(alone).read_bytes()
    # every chunk went out once and came back once, and two videos had chunks out at once
    assert sorted(e[1:] for e in events if e[0] == "sent") == \
        sorted(e[1:] for e in events if e[0] == "back") == \
        [("a", 0), ("a", 1), ("b", 0), ("c", 0), ("c", 1)]
    assert most_videos_in_flight(events) >= 2


def test_max_open_videos_1_runs_one_video_at_a_time(ray_local, tmp_path, model_dir,
                                                    monkeypatch):
    """One-chunk videos on 2 workers overlap by default (above); RayScheduler's
    max_open_videos=1 opens the next only once the last one is written."""
    for name in "ab":
        clip(tmp_path / f"{name}.mp4", frames=4, audio=False)
    opts = MatteOptions(model=model_dir, threads=1, chunk_frames=4, ray_address="local",
                        num_workers=2, **FAST)
    items = collect([str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")], ["the white square"],
                    [f"{tmp_path}/{{stem}}.mov"])
    events = record_chunks(monkeypatch)
    with Engine(opts) as engine:
        jobs = BatchReport(items, opts, lambda line: None).jobs(opts)
        runs = list(distributed.RayScheduler(engine.pool, jobs, max_open_videos=1).run())
    assert [(Path(r.job.input).stem, r.error) for r in runs] == [("a", None), ("b", None)]
    assert [e[:2] for e in events] == [("sent", "a"), ("back", "a"), ("sent", "b"), ("back", "b")]


def test_a_bad_frame_found_by_a_worker_fails_only_its_video(ray_local, tmp_path, model_dir,
                                                            capsys):
    frames, out = tmp_path / "frames", tmp_path / "out"
    frames.mkdir(), out.mkdir()
    for i in range(8):  # an image folder probes from its first image; the worker meets 0005
        cv2.imwrite(str(frames / f"{i:04d}.png"), pattern(i, 64, 48)[:, :, ::-1])
    (frames / "0005.png").write_bytes(b"not a png" * 20)
    inputs = [clip(tmp_path / "a.mp4", frames=4, audio=False), str(frames),
              clip(tmp_path / "c.mp4", frames=8, audio=False)]
    argv = inputs + ["--prompt", "the square", "-o", f"{out}/{{stem}}.mov", "--model", model_dir,
                     "--ray-address", "local", "--num-workers", "2", "--threads", "1",
                     "--chunk-frames", "4", "--resolution", "64", "--json"]
    assert video_main(argv) == 1
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [Path(v).name for v in summary["succeeded"]] == ["a.mp4", "c.mp4"]
    [failure] = summary["failed"]
    assert failure["input"] == str(frames) and "0005.png: not a readable image" in failure["error"]
    assert sorted(p.name for p in out.iterdir()) == ["a.mov", "c.mov"]
    assert alpha_of(out / "c.mov").shape == (8, 48, 64) and leftovers(out) == []
