"""Ray executor on a local instance: same output as local; batch with a corrupt input; resume."""
from __future__ import annotations

import json

import numpy as np
import pytest

import pipelines
from pipelines.cli import video_main
from pipelines_fixtures import (CLIP_FRAMES, FAST, alpha_of, clip, clip_path, leftovers,  # noqa: F401
                                model_dir, ray_local, times_of)


@pytest.fixture(scope="module")
def local_matte(tmp_path_factory, clip_path, model_dir):  # noqa: F811
    out = tmp_path_factory.mktemp("reference") / "local.mkv"
    pipelines.matte_video(clip_path, "the white square", str(out), output_type="alpha",
                          model=model_dir, threads=1, **FAST)
    return out


def test_two_cpu_workers_give_the_local_output(ray_local, tmp_path, clip_path, model_dir,  # noqa: F811
                                               local_matte):
    out = tmp_path / "ray.mkv"
    result = pipelines.matte_video(clip_path, "the white square", str(out), output_type="alpha",
                                   model=model_dir, ray_address="local", num_workers=2,
                                   chunk_frames=4, threads=1, **FAST)
    assert result["executor"] == "ray" and result["frames"] == CLIP_FRAMES
    assert np.array_equal(alpha_of(out), alpha_of(local_matte))
    assert times_of(out) == times_of(clip_path)


def test_batch_reports_a_corrupt_video_and_finishes_the_rest(ray_local, tmp_path, model_dir,  # noqa: F811
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


def test_manifest_gives_each_video_its_prompts_and_output(ray_local, tmp_path, model_dir):  # noqa: F811
    clip(tmp_path / "x.mp4", frames=4, audio=False)
    (tmp_path / "jobs.jsonl").write_text(
        json.dumps({"input": "x.mp4", "prompts": ["a cat", "a dog"], "output": "x.mkv"}) + "\n"
        + json.dumps({"input": "x.mp4", "prompt": "a hat", "output": "hat.mp4"}) + "\n")
    argv = [str(tmp_path / "jobs.jsonl"), "--model", model_dir, "--ray-address", "local",
            "--num-workers", "1", "--resolution", "64", "--output-type", "alpha", "--quiet"]
    assert video_main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".mkv", ".mp4") and p.stem != "x") \
        == ["hat.mp4", "x.a-cat.mkv", "x.a-dog.mkv"]
