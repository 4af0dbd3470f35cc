"""benchmarks/run.py --suite quick: one JSON line with every figure of issue 13 (the
suite's own machinery on tiny sizes; no timing is asserted)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import run  # noqa: E402

FIGURES = ["pipeline_efficiency", "writer_fps_1080p", "fg_ms_1080p", "rss_growth", "sparse_speedup_2k",
           "student_teacher_latency_ratio_512", "ray_scaling"]
OUTPUT_KINDS = ["matte_mkv", "matte_mp4", "rgba_mov", "rgba_webm", "composite_mp4"]


def positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_writer_figures_cover_every_output_kind(tmp_path):
    writer, raw = run.writer_fps(tmp_path, (96, 64), 2)
    assert sorted(writer) == sorted(raw) == sorted(OUTPUT_KINDS)
    assert all(positive(v) for v in [*writer.values(), *raw.values()])
    assert {p.name for p in tmp_path.iterdir()} >= {"matte.mkv", "rgba.mov", "rgba.webm", "composite.mp4"}


def test_cheap_figures_have_their_parts():
    fg = run.fg_ms(torch.device("cpu"), (96, 64), 1)
    assert fg["used"] == fg["numpy"] and positive(fg["torch"])
    with torch.no_grad():  # the timed upsampler convolves (an untrained one only interpolates)
        assert run.bench_refine.trained_upsampler("cpu").refining_groups() == 2
    sparse = run.bench_refine.sparse_speedup("cpu", (128, 128))
    assert 0 < sparse["active_fraction"] <= 1 and positive(sparse["speedup"])
    unets = run.bench_unets(torch.device("cpu"), torch.float32, 0, 1, "tiny", 64)
    assert unets["ratio"] == pytest.approx(unets["student_ms"] / unets["teacher_ms"], rel=0.01)


@pytest.mark.slow  # starts Ray and two tdm-video processes: minutes on 2 shared cores
def test_quick_suite_prints_one_line_with_every_figure():
    done = subprocess.run([sys.executable, str(BENCHMARKS / "run.py"), "--suite", "quick", "--scale", "small",
                           "--json", "--device", "cpu"], capture_output=True, text=True, timeout=1500,
                          env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    assert done.returncode == 0, done.stderr[-2000:]
    [line] = done.stdout.strip().splitlines()
    result = json.loads(line)
    assert all(key in result for key in FIGURES), sorted(set(FIGURES) - set(result))
    assert sorted(result["writer_fps_1080p"]) == sorted(OUTPUT_KINDS)
    numbers = [result[k] for k in FIGURES if k != "writer_fps_1080p"] + list(result["writer_fps_1080p"].values())
    assert all(positive(v) for v in numbers)
    assert result["rss_growth_detail"]["frames"][1] == 4 * result["rss_growth_detail"]["frames"][0]
    assert isinstance(result["cpu_model"], str) and result["cpu_model"]  # figures differ 3x by machine
