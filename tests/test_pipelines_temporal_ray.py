"""The stabiliser on Ray: chunks warmed up before their start give the local (sequential)
output within pipelines.temporal.TOLERANCE, whatever the number of workers."""
from __future__ import annotations

import av
import cv2
import numpy as np

import pipelines
from pipelines import temporal
from pipelines_fixtures import FAST, alpha_of

FRAMES = 32


def panning_clip(path) -> str:
    """A 64x48 H.264 clip of a smooth texture panning 1 px per frame (keyframe every 4)."""
    base = cv2.resize(np.random.default_rng(0).integers(0, 256, (8, 16, 3), dtype=np.uint8),
                      (64 + FRAMES, 48), interpolation=cv2.INTER_CUBIC)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"g": "4", "crf": "10"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for t in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(base[:, t:t + 64]), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return str(path)


def test_two_workers_give_the_local_stabilised_output(ray_local, tmp_path, model_dir):
    src = panning_clip(tmp_path / "pan.mp4")
    options = dict(output_type="alpha", model=model_dir, threads=1, **FAST)
    pipelines.matte_video(src, "the texture", str(tmp_path / "local.mkv"), **options)
    pipelines.matte_video(src, "the texture", str(tmp_path / "alone.mkv"), stabilise=False, **options)
    pipelines.matte_video(src, "the texture", str(tmp_path / "ray.mkv"), ray_address="local",
                          num_workers=2, chunk_frames=4, **options)
    local, ray_out = alpha_of(tmp_path / "local.mkv").astype(int), alpha_of(tmp_path / "ray.mkv").astype(int)
    alone = alpha_of(tmp_path / "alone.mkv").astype(int)
    assert local.shape == ray_out.shape == (FRAMES, 48, 64)
    late = slice(4 * -(-temporal.WARMUP // 4) + 4, None)  # chunks whose warm-up does not reach frame 0
    assert (local[late] != alone[late]).any()  # the stabiliser ran on those frames (a tiny random
    # model barely flickers; test_pipelines_temporal checks the tolerance on a strongly flickering matte)
    assert np.abs(ray_out - local).max() <= round(temporal.TOLERANCE * 255) + 1
