"""Inputs that are not video files: one line, exit 2, nothing written, and never a hang."""
from __future__ import annotations

import os

import pytest

import video
from pipelines.cli import video_main
from pipelines_fixtures import leftovers, probe_error


def run_cli(argv, capsys) -> tuple[int, str]:
    code = video_main([str(a) for a in argv])
    return code, capsys.readouterr().err


def assert_usage_error(code: int, err: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("tdm-video: error:"), err
    assert needle in lines[0] and "--debug" not in lines[0], lines[0]


def test_a_symlink_loop_is_named(tmp_path):
    (tmp_path / "a.mp4").symlink_to(tmp_path / "b.mp4")
    (tmp_path / "b.mp4").symlink_to(tmp_path / "a.mp4")
    assert "symbolic link loop" in probe_error(tmp_path / "a.mp4")
    assert "symbolic link loop" in probe_error(tmp_path / "a.mp4" / "x.mp4")
    with pytest.raises(video.VideoError, match="symbolic link loop"):
        list(video.read_frames(tmp_path / "a.mp4"))


def test_a_broken_symlink_is_named(tmp_path):
    (tmp_path / "gone.mp4").symlink_to(tmp_path / "never-there.mp4")
    assert "broken symbolic link" in probe_error(tmp_path / "gone.mp4")


@pytest.mark.timeout(60)
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    assert "named pipe" in probe_error(fifo)
    (tmp_path / "link.mp4").symlink_to(fifo)  # followed: the link's target is what is read
    assert "named pipe" in probe_error(tmp_path / "link.mp4")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused_without_blocking(device):
    assert "character device" in probe_error(device)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_cli_refuses_pipes_and_devices_with_one_line(kind, tmp_path, model_dir, capsys):
    source = tmp_path / "in.mp4"
    if kind == "fifo":
        os.mkfifo(source)
    else:
        source = kind
    out = tmp_path / "out"
    out.mkdir()
    code, err = run_cli([source, "-p", "x", "-o", out / "m.mov", "--model", model_dir,
                         "--device", "cpu"], capsys)
    assert_usage_error(code, err, "not a video file or image folder")
    assert list(out.iterdir()) == [] and leftovers(tmp_path) == []


def test_an_image_folder_holding_a_fifo_reads_only_the_images(tmp_path):
    import cv2
    import numpy as np

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((8, 10, 3), 40 * i, np.uint8))
    os.mkfifo(folder / "3.png")
    assert video.probe(folder).num_frames == 3
