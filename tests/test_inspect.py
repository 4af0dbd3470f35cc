"""python -m tdm.inspect: keys, paper-size counts, one JSON line."""
import json
import subprocess
import sys

import pytest

from tdm.inspect import INFERENCE_PARTS, inspect_preset, main

KEYS = {"teacher_unet_params", "student_unet_params", "inference_params", "teacher_gmacs_512",
        "student_gmacs_512", "inference_params_by_part", "frame_gmacs_512", "gmacs_512_by_part"}


def test_sd15_counts_and_gmacs():
    report = inspect_preset("sd15")
    assert KEYS <= set(report)
    assert report["teacher_unet_params"] == 859_520_964
    assert report["student_unet_params"] == 346_735_044
    parts = report["inference_params_by_part"]
    assert set(parts) == set(INFERENCE_PARTS) and sum(parts.values()) == report["inference_params"]
    assert parts["text_encoder"] == 123_060_480 and parts["vae_encoder"] == 34_163_664
    # SD-1.5 U-Net: ~339 GMACs without and ~400 with the attention matmuls
    assert 380 < report["teacher_gmacs_512"] < 420
    assert 0.4 < report["student_gmacs_512"] / report["teacher_gmacs_512"] < 0.6
    by_part = report["gmacs_512_by_part"]
    assert 500 < by_part["vae_encoder"] < 600  # the SD VAE encoder dominates a frame
    frame = by_part["vae_encoder"] + by_part["alpha_head"] + by_part["decoder"] + report["student_gmacs_512"]
    assert abs(report["frame_gmacs_512"] - frame) < 0.05


def test_main_prints_one_json_line(capsys):
    assert main(["--preset", "tiny", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert KEYS <= set(report) and report["preset"] == "tiny"
    assert report["student_unet_params"] < report["teacher_unet_params"]


@pytest.mark.slow
def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "tdm.inspect", "--preset", "sd15", "--json"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1])["teacher_unet_params"] == 859_520_964
