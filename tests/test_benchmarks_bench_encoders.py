"""benchmarks/bench_encoders.py: its PSNR is infinite for a lossless output and finite,
and below the source's, for a lossy one."""
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from bench_encoders import quality  # noqa: E402
from bench_video import encode_frames, sample_frames  # noqa: E402


def test_psnr_is_infinite_only_for_lossless(tmp_path):
    rgba = sample_frames(64, 48, 3)
    encode_frames(tmp_path / "rgba.mkv", "rgba", rgba)  # FFV1 bgra: lossless
    assert quality(tmp_path / "rgba.mkv", "rgba", rgba) == {
        "rgb_psnr": math.inf, "codec_psnr": math.inf, "alpha_psnr": math.inf}
    encode_frames(tmp_path / "c.mp4", "composite", rgba, {"crf": "30"})
    lossy = quality(tmp_path / "c.mp4", "composite", rgba)
    assert 15 < lossy["rgb_psnr"] < 60 and lossy["rgb_psnr"] <= lossy["codec_psnr"] < 60
    encode_frames(tmp_path / "m.mp4", "alpha", rgba)
    assert 30 < quality(tmp_path / "m.mp4", "alpha", rgba)["alpha_psnr"] < math.inf
