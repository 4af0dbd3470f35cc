"""A run stopped by SIGTERM (a scheduler, `kill`, a container stop) ends like Ctrl-C: one
line, status 143, no temporary output left. What a killed run (SIGKILL) leaves is cleaned
by the next run for the same output, never another live run's output in progress."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import video
from video.synth import write_pattern_clip
from video.writer import STALE_SECONDS, remove_stale_parts

ENV = os.environ | {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "RAY_AUTH_MODE": "disabled",
                    "RAY_USAGE_STATS_ENABLED": "0"}


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> str:
    """240 frames: long enough to be stopped mid-run with the tiny model."""
    return write_pattern_clip(str(tmp_path_factory.mktemp("long") / "long.mp4"), frames=240, width=64,
                              height=48, gop=8, audio="aac")


def start(module: str, args: list) -> subprocess.Popen:
    code = f"import sys; from {module} import main; sys.exit(main())"
    if module == "pipelines.cli":
        code = "import sys; from pipelines.cli import video_main; sys.exit(video_main())"
    return subprocess.Popen([sys.executable, "-c", code] + [str(a) for a in args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.05)


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def video_args(clip: str, out: Path, model: str, *extra) -> list:
    return [clip, "-p", "the white square", "-o", out, "--model", model, "--resolution", "64",
            "--device", "cpu", "--threads", "1", "-q", *extra]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("executor", ["local", "ray"])
def test_sigterm_mid_run_leaves_no_part_and_is_one_line(executor, long_clip, model_dir, tmp_path):
    out = tmp_path / "matte.mov"
    # on Ray the driver opens its output with the first chunk's segment: many short chunks
    extra = ["--ray-address", "local", "--num-workers", "1", "--chunk-frames", "16"] if executor == "ray" else []
    proc = start("pipelines.cli", video_args(long_clip, out, model_dir, *extra))
    wait_for(lambda: parts(tmp_path), proc)  # the writer has started
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    lines = err.strip().splitlines()
    assert proc.returncode == 143, err
    assert lines[-1] == "tdm-video: terminated", err
    assert "SIGTERM received" not in err and "Traceback" not in err, err
    if executor == "local":
        assert lines == ["tdm-video: terminated"]
    assert list(tmp_path.iterdir()) == []  # no .part, no half-written matte


@pytest.mark.timeout(300)
def test_sigterm_while_training_is_one_line_and_the_checkpoint_survives(tmp_path):
    out = tmp_path / "run"
    proc = start("pipelines.train", [
        "--preset", "tiny", "--data", "synthetic:length=4,max_objects=2", "--batch-size", "2",
        "--val-size", "0", "--no-progress", "--stage", "matting", "--resolution", "64",
        "--max-steps", "5000", "--checkpoint-every", "2", "--output", out])
    wait_for(lambda: (out / "checkpoint.pt").is_file(), proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.strip().splitlines() == [
        f"tdm-train: terminated; `--resume` continues from the last checkpoint in {out}"]
    assert not list(out.rglob("*.tmp"))
    from tdm.train.checkpoint import load_checkpoint

    assert load_checkpoint(out)["step"] >= 2  # whole, loadable (our safe loader)


def test_no_progress_hides_the_loaders_bars(tmp_path, capsys):
    from pipelines.train import main

    base = ["--preset", "tiny", "--data", "synthetic:length=4,max_objects=2", "--batch-size", "2",
            "--val-size", "0", "--no-progress", "--stage", "matting", "--resolution", "64",
            "--max-steps", "1"]
    assert main(base + ["--output", str(tmp_path / "a")]) == 0  # saves: "Writing model shards"
    assert main(base + ["--output", str(tmp_path / "b"), "--init", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err  # loading the init stage: "Loading pipeline components"
    assert "Writing model shards" not in err and "Loading pipeline components" not in err
    assert "it/s" not in err, err


# -- what a killed run leaves -------------------------------------------------------------
def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def write_some(writer: video.VideoWriter, info: video.VideoInfo, frames: int = 2) -> None:
    for f in list(video.read_frames(info.path))[:frames]:
        writer.write(f, np.full(f.rgb.shape[:2], 0.5, np.float32))


@pytest.fixture
def small_clip(tmp_path) -> video.VideoInfo:
    return video.probe(write_pattern_clip(str(tmp_path / "in.mp4"), frames=4))


@pytest.mark.timeout(300)
def test_a_killed_runs_part_is_removed_by_the_next_run(long_clip, model_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = start("pipelines.cli", video_args(long_clip, out / "matte.mov", model_dir))
    wait_for(lambda: parts(out), proc)
    proc.kill()  # SIGKILL: nothing can clean up
    proc.communicate()
    [left] = parts(out)
    age(out / left, STALE_SECONDS + 5)
    with video.VideoWriter(out / "matte.mov", like=video.probe(long_clip)) as w:
        write_some(w, video.probe(long_clip))
    assert sorted(p.name for p in out.iterdir()) == ["matte.mov"]


@pytest.mark.parametrize("folder", [False, True])
def test_only_our_stale_unlocked_parts_of_this_output_go(folder, small_clip, tmp_path):
    out = tmp_path / ("frames" if folder else "m.mkv")
    stale = tmp_path / f".{out.name}.0123abcd.part"
    young = tmp_path / f".{out.name}.4567cdef.part"
    others = [tmp_path / n for n in (f".x{out.name}.0123abcd.part", f".{out.name}.0123abc.part",
                                     f".{out.name}.0123ABCD.part", f".{out.name}.0123abcd.part.bak",
                                     f"{out.name}.0123abcd.part")]
    foreign = tmp_path / f".{out.name}.89abcdef.part"  # a folder of ours by name, not content
    link = tmp_path / f".{out.name}.feedbeef.part"
    for p in [stale, young] + others:
        if folder:
            p.mkdir()
            (p / "000000.png").write_bytes(b"png")
        else:
            p.write_bytes(b"old")
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    link.symlink_to(others[0])
    for p in [stale, foreign, link] + others:
        age(p, STALE_SECONDS + 5)
    assert remove_stale_parts(out) == [stale.name]
    assert not stale.exists()
    assert all(p.exists() or p.is_symlink() for p in [young, foreign, link] + others)


@pytest.mark.parametrize("ext", [".mkv", ""])
def test_a_live_writers_part_is_never_removed(ext, small_clip, tmp_path):
    """Two runs writing the same name at once: the second never deletes the first's work,
    however long the first has gone without writing."""
    out = tmp_path / f"m{ext}"
    first = video.VideoWriter(out, like=small_clip)
    write_some(first, small_clip)  # the temporary output exists and is locked
    [live] = parts(tmp_path)
    age(tmp_path / live, STALE_SECONDS + 5)
    assert remove_stale_parts(out) == []
    with video.VideoWriter(out, like=small_clip) as second:
        write_some(second, small_clip)
    assert (tmp_path / live).exists()
    write_some_more = list(video.read_frames(small_clip.path))[2:]
    for f in write_some_more:
        first.write(f, np.zeros(f.rgb.shape[:2], np.float32))
    first.close()
    assert parts(tmp_path) == [] and video.probe(out).num_frames == 4
