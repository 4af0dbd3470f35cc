"""Measured speed and memory of the model and the frame pipeline, printed as one JSON line.

    python benchmarks/run.py --suite quick|full [--device auto|cpu|cuda] [--json]

quick (a few minutes on 2 CPU cores; the figures of issue 13, benchmarks/README.md):
  pipeline_efficiency   tdm-video end-to-end fps / model-only fps: the shipped demo model,
                        one clip, resolution and batch, the rgba .mov output (stabiliser on)
  writer_fps_1080p      each output kind's ceiling with no model (decode, foreground
                        colour, conversion, encode), beside raw_encode_fps_1080p (the
                        codec alone) and their ratio writer_vs_raw_1080p
  fg_ms_1080p           foreground estimation per 1080p frame, the path this device uses
  rss_growth            peak RSS of `tdm-video` on a 4x longer clip / on the base clip
  sparse_speedup_2k     dense-equivalent / sparse upsampler time, 2048x2048, ~5% active
  student_teacher_latency_ratio_512  student / teacher U-Net latency at 512 px (sd15)
  ray_scaling           fps on 2 Ray CPU workers / on 1, same clip (rgba .mov)
  demo_fp32             the demo pipeline, one frame at its processing resolution
full: adds the paper-size "sd15" student pipeline at 512x512 (Table 1's setting) and
      the teacher U-Net alone, in fp32 and (on CUDA) bf16, with peak GPU memory.
`--scale small` runs the same machinery on tiny sizes (the test of the suite's keys).
Model weights are random except the demo's: speed does not depend on their values.
Never run as a test.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import av  # noqa: F401  (before anything that may import decord)
import numpy as np
import torch

import tdm

sys.path.insert(0, str(Path(__file__).parent))
import bench_memory  # noqa: E402
import bench_refine  # noqa: E402
from bench_pipeline import io_only_fps, local_ray, model_only_fps, ray_fps, soft_matter  # noqa: E402
from bench_video import raw_encode_fps  # noqa: E402
from media.cpu import cpu_fields  # noqa: E402
from video.synth import write_pattern_clip  # noqa: E402

# output kind -> (file name, --output-type): the outputs writer_fps_1080p measures
WRITER_OUTPUTS = {"matte_mkv": ("matte.mkv", "alpha"), "matte_mp4": ("matte.mp4", "alpha"),
                  "rgba_mov": ("rgba.mov", "rgba"), "rgba_webm": ("rgba.webm", "rgba"),
                  "composite_mp4": ("composite.mp4", "composite")}
COLOUR_OUTPUTS = ("rgba_mov", "rgba_webm", "composite_mp4")
# sizes of the quick suite, and the tiny ones `--scale small` runs the same code on
SCALES = {
    # 48 frames: a throughput (8 and 12 until session 15 measured mostly the pipeline's
    # start and drain, up to 3x below its speed on a longer clip)
    "full": {"hd": (1920, 1080), "hd_frames": 48, "clip": (640, 360), "clip_frames": 48,
             "rss": (320, 192), "rss_frames": 6, "ray": (320, 192), "ray_frames": 16,
             "ray_resolution": 128, "sparse": (2048, 2048), "unet": ("sd15", 512)},
    "small": {"hd": (96, 64), "hd_frames": 4, "clip": (96, 64), "clip_frames": 4,
              "rss": (64, 48), "rss_frames": 2, "ray": (64, 48), "ray_frames": 4,
              "ray_resolution": 64, "sparse": (128, 128), "unet": ("tiny", 64)},
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn, device: torch.device, warmup: int, repeats: int) -> float:
    """Median wall time of fn() in milliseconds after `warmup` calls."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def bench_pipeline(preset: str, size: int, device: torch.device, dtype: torch.dtype,
                   warmup: int, repeats: int, batch: int = 1) -> dict:
    """ms per frame of the inference pipeline (VAE encoder, student, heads, decoder)."""
    pipe = tdm.build_pipeline(preset, seed=0, device=device, dtype=dtype)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
    text = pipe.encode_prompt("the left zebra")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def run():
        enc = pipe.encode_images(frames, resolution=size)
        pipe.predict_alpha(enc, text)

    ms = time_call(run, device, warmup, repeats) / batch
    out = {"ms_per_frame": round(ms, 2), "fps": round(1000 / ms, 2), "batch": batch}
    if device.type == "cuda":
        out["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return out


def bench_unets(device: torch.device, dtype: torch.dtype, warmup: int, repeats: int,
                preset: str = "sd15", size: int = 512) -> dict:
    """ms of one teacher and one student U-Net forward at a (size/8)^2 latent, one process."""
    from tdm.config import get_preset
    from tdm.unets import build_student_unet, build_teacher_unet

    config = get_preset(preset)
    with device:
        teacher = build_teacher_unet(config).to(dtype).eval()
        student = build_student_unet(teacher, config).eval()
        z = torch.randn(1, 4, size // 8, size // 8, dtype=dtype)
        text = torch.randn(1, 77, teacher.config.cross_attention_dim, dtype=dtype)
        t = torch.ones(1, dtype=dtype)
    out = {}
    for name, unet in (("teacher", teacher), ("student", student)):
        @torch.inference_mode()
        def run():
            unet(z, t, encoder_hidden_states=text)

        out[f"{name}_ms"] = round(time_call(run, device, warmup, repeats), 2)
    out["ratio"] = round(out["student_ms"] / out["teacher_ms"], 3)
    return out


def fg_ms(device: torch.device, size: tuple[int, int], repeats: int) -> dict:
    """ms per frame of foreground estimation at `size`: video's numpy path and the torch
    one on `device` (batch 4 on CUDA, 1 on CPU), and the one `pipelines.foreground` uses here."""
    from pipelines.foreground import estimate_foreground
    from video.compose import estimate_foreground as estimate_numpy
    from video.synth import pattern, pattern_alpha

    w, h = size
    rgb, alpha = pattern(0, w, h), pattern_alpha(0, w, h)
    numpy_ms = time_call(lambda: estimate_numpy(rgb, alpha), torch.device("cpu"), 1, repeats)
    batch = 4 if device.type == "cuda" else 1
    image = torch.from_numpy(np.stack([rgb] * batch)).to(device).permute(0, 3, 1, 2).float() / 255
    matte = torch.from_numpy(np.stack([alpha] * batch))[:, None].to(device)
    torch_ms = time_call(lambda: estimate_foreground(image, matte), device, 1, repeats) / batch
    return {"numpy": round(numpy_ms, 1), "torch": round(torch_ms, 1),
            "used": round(torch_ms if device.type == "cuda" else numpy_ms, 1)}


def writer_fps(root: Path, size: tuple[int, int], frames: int) -> tuple[dict, dict]:
    """Each output kind with a stand-in model (`bench_pipeline.soft_matter`) and its codec
    alone (`bench_video.raw_encode_fps`), frames per second."""
    w, h = size
    src = write_pattern_clip(str(root / "hd.mp4"), frames=frames, width=w, height=h,
                             gop=30)
    writer, raw = {}, {}
    for key, (name, kind) in WRITER_OUTPUTS.items():
        writer[key] = round(io_only_fps(src, root / name, 4, kind, soft_matter), 2)
        raw[key] = round(raw_encode_fps(name, kind, w, h, frames), 2)
    return writer, raw


def rss_growth(root: Path, model: str, size: tuple[int, int], frames: int) -> dict:
    """Peak RSS of `tdm-video` (`bench_memory.one_case`) on `frames` and on 4x as many."""
    args = argparse.Namespace(frames=frames, output=".mov", model=model, batch_size=4)
    size_name = f"{size[0]}x{size[1]}"
    base = bench_memory.one_case(args, size_name, 1)
    args.frames = 4 * frames
    long = bench_memory.one_case(args, size_name, 1)
    return {"base_mib": base["peak_rss_mib"], "long_mib": long["peak_rss_mib"],
            "frames": [frames, 4 * frames], "ratio": round(long["peak_rss_mib"] / base["peak_rss_mib"], 3)}


def pipeline_efficiency(root: Path, model: str, size: tuple[int, int], frames: int,
                        threads: int | None = None) -> dict:
    """tdm-video's fps (its summary) / the model's alone, same clip, model and batch.
    `threads`: torch's for both (default: the process's for the model alone, tdm-video's
    own default for the run)."""
    import pipelines

    w, h = size
    src = write_pattern_clip(str(root / "clip.mp4"), frames=frames, width=w, height=h,
                             gop=12)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or previous)
    try:
        model_fps = model_only_fps(src, model, None, 4)
    finally:
        torch.set_num_threads(previous)
    summary = pipelines.matte_video(src, "the white square", str(root / "e2e.mov"), model=model,
                                    device="cpu", batch_size=4, quiet=True, threads=threads)
    return {"model_fps": round(model_fps, 2), "end_to_end_fps": summary["fps"],
            "ratio": round(summary["fps"] / model_fps, 3)}


def ray_scaling(root: Path, model: str, size: tuple[int, int], frames: int, resolution: int) -> dict:
    """fps on 2 Ray CPU workers / on 1 (`bench_pipeline.ray_fps`), rgba .mov output."""
    w, h = size
    src = write_pattern_clip(str(root / "ray.mp4"), frames=frames, width=w, height=h,
                             gop=12)
    fps = {}
    with local_ray():
        for n in (1, 2):
            fps[n] = ray_fps(src, root / f"ray{n}.mov", n, model=model, batch_size=4,
                             resolution=resolution, chunk_frames=4)
    return {"fps_1": round(fps[1], 2), "fps_2": round(fps[2], 2), "ratio": round(fps[2] / fps[1], 3)}


def quick_suite(device: torch.device, scale: str, warmup: int, repeats: int) -> dict:
    """The figures of the quick suite (module docstring) as one flat dict; each stage's
    wall seconds in `stage_seconds` (also written to stderr as it ends)."""
    from tdm.assets import demo_model

    sizes = SCALES[scale]
    stages: dict[str, float] = {}

    def stage(name: str, fn, *args):
        t = time.perf_counter()
        value = fn(*args)
        stages[name] = round(time.perf_counter() - t, 1)
        print(f"{name}: {stages[name]} s {json.dumps(value)}", file=sys.stderr, flush=True)
        return value

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tiny = str(root / "tiny")
        tdm.build_pipeline("tiny", seed=0).save_pretrained(tiny)
        demo = str(demo_model()) if scale == "full" else tiny
        fg = stage("fg_ms_1080p", fg_ms, device, sizes["hd"], repeats)
        out["writer_fps_1080p"], out["raw_encode_fps_1080p"] = stage(
            "writer_fps_1080p", writer_fps, root, sizes["hd"], sizes["hd_frames"])
        out["writer_vs_raw_1080p"] = {k: round(out["writer_fps_1080p"][k] / out["raw_encode_fps_1080p"][k], 3)
                                      for k in COLOUR_OUTPUTS}
        efficiency = stage("pipeline_efficiency", pipeline_efficiency, root, demo, sizes["clip"],
                           sizes["clip_frames"])
        rss = stage("rss_growth", rss_growth, root, tiny, sizes["rss"], sizes["rss_frames"])
        ray = stage("ray_scaling", ray_scaling, root, demo, sizes["ray"], sizes["ray_frames"],
                    sizes["ray_resolution"])
    sparse = stage("sparse_speedup_2k", bench_refine.sparse_speedup, str(device), sizes["sparse"])
    # sd15 U-Nets take seconds a forward on CPU: one timed call each there
    unet_runs = (warmup, repeats) if device.type == "cuda" else (1, 1)
    unets = stage("student_teacher_latency_ratio_512", bench_unets, device, torch.float32, *unet_runs,
                  *sizes["unet"])
    out.update({
        "pipeline_efficiency": efficiency["ratio"], "pipeline_efficiency_detail": efficiency,
        "fg_ms_1080p": fg["used"], "fg_ms_1080p_detail": fg,
        "rss_growth": rss["ratio"], "rss_growth_detail": rss,
        "sparse_speedup_2k": sparse["speedup"], "sparse_speedup_2k_detail": sparse,
        "student_teacher_latency_ratio_512": unets["ratio"], "student_teacher_512": unets,
        "ray_scaling": ray["ratio"], "ray_scaling_detail": ray, "stage_seconds": stages,
    })
    return out


def cpu_model() -> str:
    """The CPU's model name and number (a VM may call every Xeon "Intel(R) Xeon(R)
    Processor"): step times differ 3x between the machines a session may get
    (docs/NOTES.md, session 13)."""
    fields = cpu_fields()
    name = fields.get("model name") or platform.processor() or platform.machine()
    return f"{name} (model {fields['model']})" if "model" in fields else name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=["quick", "full"], default="quick")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--json", action="store_true", help="print one JSON line (the default output)")
    ap.add_argument("--scale", choices=SCALES, default="full",
                    help="small: the quick suite's machinery on tiny sizes (tests)")
    args = ap.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    cuda = device.type == "cuda"
    warmup, repeats = (3, 10) if cuda else (1, 3)
    result: dict = {"suite": args.suite, "scale": args.scale,
                    "device": torch.cuda.get_device_name(device) if cuda else "cpu",
                    "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "cpus": os.cpu_count(), "cpu_model": cpu_model(), "load_avg_1min": round(os.getloadavg()[0], 2)}
    started = time.perf_counter()
    demo = tdm.get_preset("demo") if args.scale == "full" else tdm.get_preset("tiny")
    result["demo_fp32"] = bench_pipeline(demo.name, demo.resolution, device, torch.float32, warmup, repeats)
    result.update(quick_suite(device, args.scale, warmup, repeats))
    if args.suite == "full":
        dtypes = [("fp32", torch.float32)] + ([("bf16", torch.bfloat16)] if cuda else [])
        for name, dtype in dtypes:
            result[f"sd15_512_{name}"] = bench_pipeline("sd15", 512, device, dtype, warmup, repeats)
            result[f"unets_512_{name}"] = bench_unets(device, dtype, warmup, repeats)
        if cuda:
            result["sd15_512_bf16_batch8"] = bench_pipeline("sd15", 512, device, torch.bfloat16,
                                                            warmup, repeats, batch=8)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
