"""python -m tdm.inspect: keys, paper-size counts, one JSON line."""
import json
import subprocess
import sys

import pytest

from tdm.inspect import INFERENCE_PARTS, inspect_preset, main

KEYS = {"teacher_unet_params", "student_unet_params", "inference_params", "teacher_gmacs_512",
        "student_gmacs_512", "inference_params_by_part", "frame_gmacs_512", "gmacs_512_by_part",
        "decoder_params", "projections_params", "teacher_gmacs_512_no_attention",
        "student_gmacs_512_no_attention", "frame_gmacs_512_no_attention",
        "unoptimised_frame_gmacs_512_no_attention", "gmacs_512_by_part_no_attention"}


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
    assert report["decoder_params"] == parts["decoder"] > 0


def test_sd15_counts_without_attention_matmuls_match_table_13():
    """Table 13: 902.3 GMACs unoptimised, 769.7 optimised; 429M = student + six Phi + alpha head."""
    report = inspect_preset("sd15")
    assert report["unoptimised_frame_gmacs_512_no_attention"] == pytest.approx(902.3, rel=0.02)
    assert report["frame_gmacs_512_no_attention"] == pytest.approx(769.7, rel=0.02)
    # BK-SDM's count of the SD-1.5 U-Net is ~339 GMACs: convolutions and linears only
    assert report["teacher_gmacs_512_no_attention"] == pytest.approx(339, rel=0.01)
    # the VAE encoder's mid-block self-attention (4096 tokens, 512 channels) is left out too
    by_part, by_part_all = report["gmacs_512_by_part_no_attention"], report["gmacs_512_by_part"]
    assert by_part_all["vae_encoder"] - by_part["vae_encoder"] >= 2 * 4096 * 4096 * 512 / 1e9
    assert by_part["decoder"] == by_part_all["decoder"]  # a convolutional net: no attention
    frame = (by_part["vae_encoder"] + by_part["alpha_head"] + by_part["decoder"]
             + report["student_gmacs_512_no_attention"])
    assert abs(report["frame_gmacs_512_no_attention"] - frame) < 0.05
    assert report["projections_params"] == 81_728_640
    paper_429 = report["student_unet_params"] + report["projections_params"] + report["inference_params_by_part"]["alpha_head"]
    assert paper_429 == pytest.approx(429e6, rel=0.001)


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
