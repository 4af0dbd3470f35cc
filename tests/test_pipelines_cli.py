"""`tdm-video` end to end, and every user error: one line, non-zero exit, no output file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tdm
import tdm.assets
import video
from pipelines.cli import video_main
from pipelines_fixtures import CLIP_FRAMES, alpha_of, leftovers, times_of

SCRIPT = Path(sys.executable).with_name("tdm-video")


def test_console_script_end_to_end(tmp_path, clip_path, model_dir):
    out = tmp_path / "matte.mp4"
    command = [str(SCRIPT)] if SCRIPT.exists() else [
        sys.executable, "-c", "import sys; from pipelines.cli import video_main; sys.exit(video_main())"]
    proc = subprocess.run(command + [clip_path, "--prompt", "the white square", "-o", str(out),
                                     "--model", model_dir, "--resolution", "64", "--device", "cpu",
                                     "--json"],
                          capture_output=True, text=True, timeout=300, env=os.environ | {"OMP_NUM_THREADS": "2"})
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)  # exactly one JSON line on stdout
    assert summary["frames"] == CLIP_FRAMES and summary["outputs"] == [str(out)]
    assert summary["device"] == "cpu" and summary["seconds"] > 0 and summary["fps"] > 0
    assert "device: cpu" in proc.stderr and "Traceback" not in proc.stderr
    info, src = video.probe(out), video.probe(clip_path)
    assert (info.num_frames, info.width, info.height) == (CLIP_FRAMES, src.width, src.height)
    assert info.has_audio and info.audio_codec == src.audio_codec
    assert times_of(out) == times_of(clip_path)


def test_square_flag_gives_the_pipelines_square_mode(tmp_path, clip_path, model_dir, capsys):
    """--square: the 64x48 frames are squashed to 64x64 (the paper's), not padded."""
    out = tmp_path / "square.mkv"
    code, err = run_cli([clip_path, "-p", "the white square", "-o", out, "--model", model_dir,
                         "--resolution", "64", "--square", "--device", "cpu", "--quiet"], capsys)
    assert code == 0, err
    pipe = tdm.TDMPipeline.from_pretrained(model_dir)
    rgb = np.stack([f.rgb for f in video.read_frames(clip_path)])
    text = pipe.encode_prompt("the white square")
    want = {square: np.concatenate([pipe.predict_alpha(pipe.encode_images(rgb[i:i + 4], 64, square), text).alpha
                                    for i in range(0, len(rgb), 4)]) for square in (True, False)}
    got = alpha_of(out).astype(np.float32) / 255
    assert np.abs(got - want[True]).max() <= 1 / 255 + 1e-6
    assert np.abs(got - want[False]).max() > 2 / 255


def run_cli(argv, capsys) -> tuple[int, str]:
    code = video_main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, err


def assert_one_line_error(code: int, err: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert code != 0
    assert len(lines) == 1 and lines[0].startswith("tdm-video: error:"), err
    assert needle in lines[0], lines[0]


@pytest.mark.parametrize("args, needle", [
    (["missing.mp4", "-p", "x", "-o", "{out}/o.mp4"], "missing.mp4: no such file"),
    (["{bad}", "-p", "x", "-o", "{out}/o.mp4"], "not a readable video"),
    (["{clip}", "-p", "  ", "-o", "{out}/o.mp4"], "empty prompt"),
    (["{clip}", "-o", "{out}/o.mp4"], "no prompt given"),
    (["{clip}", "-p", "x"], "no output given"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--output-type", "sepia"], "invalid choice: 'sepia'"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--dtype", "fp8"], "invalid choice: 'fp8'"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--batch-size", "0"], "--batch-size: must be a positive"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--resolution", "100000"], "multiple of 64 from 64 to"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--resolution", "100"], "multiple of 64 from 64 to"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--start", "soon"], "--start: expected a frame index"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--start", "50"], "empty frame range 50:12"),
    (["{clip}", "-p", "x", "-o", "{out}/o.gif"], "unknown output extension '.gif'"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--output-type", "rgba"], "MP4 cannot carry alpha"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--background", "plaid"], "background 'plaid'"),
    (["{clip}", "-p", "x", "-o", "{out}/no/such/dir/o.mp4"], "does not exist"),
    (["{clip}", "-p", "x", "-o", "{clip}"], "would overwrite"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--model", "{out}/nomodel"], "model folder does not exist"),
    (["{clip}", "-p", "x", "-o", "{out}/o.mp4", "--model", "{out}"], "has no model_index.json"),
])
def test_user_errors_are_one_line_and_leave_nothing(args, needle, tmp_path, clip_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage" * 100)
    argv = [a.format(out=out, bad=bad, clip=clip_path) for a in args]
    code, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, needle)
    assert list(out.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(tmp_path, clip_path, model_dir, capsys):
    code, err = run_cli([clip_path, "-p", "x", "-o", tmp_path / "o.mp4", "--model", model_dir,
                         "--device", "cuda"], capsys)
    assert_one_line_error(code, err, "CUDA is not available")
    assert list(tmp_path.iterdir()) == []


def test_missing_demo_model_says_to_pass_model(tmp_path, clip_path, monkeypatch, capsys):
    monkeypatch.setattr(tdm.assets, "demo_model", lambda: tmp_path / "no-demo")
    code, err = run_cli([clip_path, "-p", "x", "-o", tmp_path / "o.mp4"], capsys)
    assert_one_line_error(code, err, "pass --model PATH")


def test_debug_shows_the_traceback(tmp_path, capsys):
    with pytest.raises(Exception, match="no such file"):
        video_main([str(tmp_path / "missing.mp4"), "-p", "x", "-o", str(tmp_path / "o.mp4"), "--debug"])


def test_failing_model_mid_run_leaves_no_output(tmp_path, clip_path, model_dir, monkeypatch,
                                                capsys):
    calls = []

    def broken(self, encoded, text):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("out of memory")
        return tdm.TDMPipelineOutput(alpha=torch.zeros(encoded.latents.shape[0], 48, 64))

    import tdm
    monkeypatch.setattr(tdm.TDMPipeline, "predict_alpha", broken)
    code, err = run_cli([clip_path, "-p", "x", "-o", tmp_path / "o.mkv", "-o", tmp_path / "frames",
                         "--output-type", "alpha", "--model", model_dir, "--resolution", "64"], capsys)
    assert_one_line_error(code, err.replace("tdm-video: device: cpu, fp32\n", ""), "out of memory")
    assert code == 1 and leftovers(tmp_path) == [] and not (tmp_path / "o.mkv").exists()
    assert not (tmp_path / "frames").exists()
