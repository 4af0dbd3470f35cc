"""tdm-train: a run from the command line, and one clear line for bad input."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.train import main

BASE = ["--preset", "tiny", "--data", "synthetic:length=8,max_objects=2", "--batch-size", "2",
        "--val-size", "2", "--no-progress"]


def test_cli_trains_and_writes_pipeline(tmp_path, one_thread):
    out = tmp_path / "run"
    assert main(BASE + ["--stage", "matting", "--max-steps", "3", "--resolution", "128",
                        "--warmup-steps", "2", "--output", str(out)]) == 0
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3] and "loss" in rows[0]
    assert rows[0]["lr"] == pytest.approx(0.5 * 4e-4)  # the first of 2 warm-up steps
    assert (out / "model_index.json").is_file() and (out / "checkpoint.pt").is_file()
    # the saved pipeline infers at the side it was trained at
    assert json.loads((out / "model_index.json").read_text())["resolution"] == 128
    assert json.loads((out / "train_config.json").read_text())["stage"] == "matting"


@pytest.mark.parametrize("extra", [
    ["--stage", "matting", "--data", "refmatte:/no/such/RefMatte"],
    ["--stage", "matting", "--init", "/no/such/run"],
    ["--stage", "matting", "--resume"],
    ["--stage", "colour"],
    ["--stage", "matting", "--data", "imagenet:/x"],
    ["--stage", "matting", "--num-workers", "3"],  # batch 2 cannot be split in 3
    ["--stage", "matting", "--warmup-steps", "0"],
])
def test_bad_input_is_one_line(tmp_path, capsys, extra):
    args = BASE + ["--max-steps", "2", "--output", str(tmp_path / "o")] + extra
    try:
        code = main(args)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("tdm-train: error:") and err.count("\n") == 1, err


def test_console_script_error_has_no_traceback(tmp_path):
    script = Path(sys.executable).with_name("tdm-train")
    proc = subprocess.run([str(script)] + BASE + ["--stage", "semantic", "--max-steps", "1",
                          "--output", str(tmp_path), "--init", str(tmp_path / "missing")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "--init" in proc.stderr


def test_cli_trains_on_video_files(tmp_path, one_thread):
    """video: roots with video files are read through video.read_frames_at (injected)."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    for folder, name in (("fgr", "demo.mp4"), ("pha", "demo_left_alpha.mkv")):
        (tmp_path / "vm" / folder).mkdir(parents=True)
        (tmp_path / "vm" / folder / ("demo" + Path(name).suffix)).symlink_to(examples / name)
    out = tmp_path / "run"
    args = BASE + ["--stage", "matting", "--max-steps", "2", "--output", str(out),
                   "--data", f"video:{tmp_path / 'vm'}", "--val-data", "synthetic:length=2"]
    assert main(args) == 0
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and "val_sad" in rows[-1]


def test_a_symlink_loop_as_output_is_one_line_exit_2(tmp_path):
    """Path.resolve() raises RuntimeError for a loop: one line naming it, exit 2, as in tdm-video."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    script = Path(sys.executable).with_name("tdm-train")
    proc = subprocess.run([str(script)] + BASE + ["--stage", "matting", "--max-steps", "1",
                          "--output", str(tmp_path / "a")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "symbolic link loop" in proc.stderr, proc.stderr
