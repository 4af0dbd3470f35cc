"""VideoWriter: every alpha format round trips, timing and audio kept, atomic on failure."""
import os
import warnings
from fractions import Fraction

import av
import numpy as np
import pytest

import video
from video.compose import Background, composite, estimate_foreground
from video.synth import write_pattern_clip, pattern_alpha

ALPHA_OUTPUTS = [  # (name, kind, max abs alpha error, mean error)
    ("matte.mp4", "alpha", 0.06, 0.01),
    ("matte.mkv", "alpha", 0.003, 0.003),
    ("matte_png", "alpha", 0.003, 0.003),
    ("rgba.mov", "rgba", 0.01, 0.005),
    ("rgba.webm", "rgba", 0.08, 0.01),
    ("rgba.mkv", "rgba", 0.003, 0.003),
    ("rgba_png", "rgba", 0.003, 0.003),
]


def _write(src, out, kind, **kw):
    info = video.probe(src)
    with video.VideoWriter(out, kind, like=info, **kw) as w:
        for f in video.read_frames(src):
            w.write(f, pattern_alpha(f.index, info.width, info.height))
    return info


@pytest.mark.parametrize("name,kind,max_err,mean_err", ALPHA_OUTPUTS, ids=[a[0] for a in ALPHA_OUTPUTS])
def test_alpha_round_trip(tmp_path, name, kind, max_err, mean_err):
    src = write_pattern_clip(str(tmp_path / "src.mp4"), frames=8, audio="aac")
    info = _write(src, str(tmp_path / name), kind)
    back = list(video.read_frames(str(tmp_path / name), alpha=True))
    assert len(back) == info.num_frames
    errs = [np.abs(b.alpha - pattern_alpha(b.index, info.width, info.height)) for b in back]
    assert max(e.max() for e in errs) < max_err and np.mean(errs) < mean_err
    assert sorted(os.listdir(tmp_path)) == sorted(["src.mp4", name])  # no temporaries left


def test_timing_kept_for_vfr_and_ntsc(tmp_path):
    pts = [0, 1001, 3003, 4004, 8008, 9009]
    src = write_pattern_clip(str(tmp_path / "vfr.mov"), frames=6, pts=pts, rate=Fraction(30000, 1001),
                             time_base=Fraction(1, 30000))
    for name, kind in [("o.mov", "rgba"), ("o.mp4", "composite"), ("o.mkv", "alpha")]:
        _write(src, str(tmp_path / name), kind)
        out = video.probe(str(tmp_path / name))
        assert out.num_frames == 6
        times = [f.time for f in video.read_frames(str(tmp_path / name))]
        assert np.allclose(times, np.asarray(pts) / 30000, atol=6e-4)  # mkv stores milliseconds
        if name != "o.mkv":
            assert out.time_base == Fraction(1, 30000) and list(out.frame_pts) == pts


def test_stamps_write_mattes_and_given_colour_but_not_a_preview(tmp_path):
    """A stamp (timing, no pixels) writes the same matte as the decoded frame, and an rgba
    output given F; a preview or an rgba without F needs the pixels: one clear error."""
    src = write_pattern_clip(str(tmp_path / "src.mov"), frames=4, pts=[0, 1001, 3003, 4004],
                             rate=Fraction(30000, 1001), time_base=Fraction(1, 30000))
    info = video.probe(src)
    frames = list(video.read_frames(src))
    for name in ("decoded.mov", "stamped.mov"):
        with video.VideoWriter(str(tmp_path / name), "rgba", like=info) as w:
            for f in frames:
                frame = f if name == "decoded.mov" else video.stamp(info, f.index)
                w.write(frame, pattern_alpha(f.index, info.width, info.height), f.rgb)
    decoded, stamped = (list(video.read_frames(str(tmp_path / n), alpha=True)) for n in ("decoded.mov", "stamped.mov"))
    assert [f.pts for f in stamped] == [0, 1001, 3003, 4004]
    assert all(np.array_equal(a.rgb, b.rgb) and np.array_equal(a.alpha, b.alpha) for a, b in zip(decoded, stamped))
    for kind, foreground in (("preview", frames[0].rgb), ("rgba", None)):
        with pytest.raises(video.VideoError, match="needs frame 0's pixels"):
            with video.VideoWriter(str(tmp_path / f"{kind}.mkv"), kind, like=info) as w:
                w.write(video.stamp(info, 0), pattern_alpha(0, info.width, info.height), foreground)
        assert not (tmp_path / f"{kind}.mkv").exists()


@pytest.mark.parametrize("kind", ["alpha", "composite"])
def test_odd_size_h264_keeps_exact_size(tmp_path, kind):
    src = write_pattern_clip(str(tmp_path / "odd.mkv"), width=63, height=47, codec="ffv1", pix_fmt="yuv444p")
    _write(src, str(tmp_path / "m.mp4"), kind)
    out = video.probe(str(tmp_path / "m.mp4"))
    assert (out.width, out.height, out.num_frames) == (63, 47, 12)
    assert out.codec == "h264"
    if kind == "alpha":
        a = next(iter(video.read_frames(str(tmp_path / "m.mp4"), alpha=True))).alpha
        assert np.abs(a - pattern_alpha(0, 63, 47)).mean() < 0.01


@pytest.mark.parametrize("name,codec", [("a.mp4", "aac"), ("a.mov", "aac"), ("a.mkv", "aac"),
                                        ("a.webm", "opus")])
def test_audio_copied_or_transcoded(tmp_path, name, codec):
    src = write_pattern_clip(str(tmp_path / "src.mp4"), frames=12, audio="aac")
    kind = "rgba" if name.endswith((".webm", ".mov")) else "composite"
    _write(src, str(tmp_path / name), kind)
    out = video.probe(str(tmp_path / name))
    assert out.has_audio and out.audio_codec == codec
    with av.open(str(tmp_path / name)) as c:
        rate = c.streams.audio[0].codec_context.sample_rate
        samples = sum(f.samples for f in c.decode(audio=0))
    assert samples / rate > 0.3  # the 0.4 s tone is there
    _write(src, str(tmp_path / ("mute_" + name)), kind, audio=False)
    assert not video.probe(str(tmp_path / ("mute_" + name))).has_audio


def test_failure_leaves_nothing(tmp_path):
    src = write_pattern_clip(str(tmp_path / "src.mp4"), frames=6, audio="aac")
    info = video.probe(src)
    for name in ["x.mp4", "x.webm", "x_png"]:
        with pytest.raises(RuntimeError):
            with video.VideoWriter(str(tmp_path / name), "composite", like=info) as w:
                for f in video.read_frames(src):
                    w.write(f, pattern_alpha(f.index, info.width, info.height))
                    if f.index == 3:
                        raise RuntimeError("model crashed")
        with pytest.raises(video.VideoError):
            with video.VideoWriter(str(tmp_path / name), "alpha", like=info) as w:
                w.write(next(iter(video.read_frames(src))), np.zeros((5, 5), np.float32))
    with pytest.raises(video.VideoError, match="MP4 cannot carry alpha"):
        video.VideoWriter(str(tmp_path / "y.mp4"), "rgba", like=info)
    assert os.listdir(tmp_path) == ["src.mp4"]


def test_existing_output_replaced_only_on_success(tmp_path):
    src = write_pattern_clip(str(tmp_path / "src.mp4"), frames=4)
    (tmp_path / "o.mkv").write_bytes(b"old")
    _write(src, str(tmp_path / "o.mkv"), "alpha")
    assert video.probe(str(tmp_path / "o.mkv")).num_frames == 4


def test_composite_backgrounds_and_preview(tmp_path):
    src = write_pattern_clip(str(tmp_path / "src.mp4"), frames=6)
    bg_clip = write_pattern_clip(str(tmp_path / "bg.mkv"), frames=3, width=40, height=40, codec="ffv1",
                                 pix_fmt="yuv444p")
    for bg in ["#ff0000", (0, 0, 255), bg_clip]:
        _write(src, str(tmp_path / "c.mkv"), "composite", background=bg)
        frames = list(video.read_frames(str(tmp_path / "c.mkv")))
        assert len(frames) == 6
    red = Background("#ff0000", 8, 8).next()
    assert np.allclose(red[0, 0], [1, 0, 0])
    _write(src, str(tmp_path / "p.mp4"), "preview")
    info = video.probe(str(tmp_path / "p.mp4"))
    assert (info.width, info.height, info.num_frames) == (192, 48, 6)
    _write(src, str(tmp_path / "fg.webm"), "foreground")
    assert video.probe(str(tmp_path / "fg.webm")).num_frames == 6


def test_png_sequence_16bit(tmp_path):
    src = write_pattern_clip(str(tmp_path / "src.mp4"), frames=3)
    _write(src, str(tmp_path / "m16"), "alpha", bit_depth=16)
    import cv2

    img = cv2.imread(str(tmp_path / "m16" / "000001.png"), cv2.IMREAD_UNCHANGED)
    assert img.dtype == np.uint16
    assert np.abs(img / 65535.0 - pattern_alpha(1, 64, 48)).max() < 1e-4


def test_estimated_foreground_beats_raw_at_edges():
    h, w = 96, 128
    yy, xx = np.mgrid[0:h, 0:w]
    fg = np.stack([0.9 + 0.0 * xx, 0.6 + 0.2 * (yy / h), 0.2 + 0.0 * xx], 2).astype(np.float32)
    bg = np.stack([0.1 + 0.0 * xx, 0.2 + 0.6 * (xx / w), 0.9 + 0.0 * xx], 2).astype(np.float32)
    alpha = np.clip(0.5 - (np.hypot(xx - 64, yy - 48) - 30) / 8.0, 0, 1).astype(np.float32)
    image = fg * alpha[..., None] + bg * (1 - alpha[..., None])
    edge = (alpha > 0.02) & (alpha < 0.98)
    new_bg = np.zeros_like(image)
    truth = composite(fg, alpha, new_bg).astype(float)
    raw = composite(image, alpha, new_bg).astype(float)
    est = composite(estimate_foreground(image, alpha), alpha, new_bg).astype(float)
    raw_err, est_err = np.abs(raw - truth)[edge].mean(), np.abs(est - truth)[edge].mean()
    assert est_err < 0.3 * raw_err
    assert np.abs(estimate_foreground(image, alpha) - fg)[edge].mean() < 0.05


@pytest.mark.parametrize("name,kind", [("late.mkv", "alpha"), ("late.webm", "rgba"), ("late.mov", "rgba"),
                                       ("late.mp4", "alpha")])
def test_output_starting_late_reads_back_without_loss_warning(tmp_path, name, kind):
    """A range output (tdm-video --start) keeps the source pts, so it starts at a non-zero
    time; reading it back must not report frames as lost."""
    src = write_pattern_clip(str(tmp_path / "src.mp4"), frames=12)
    info = video.probe(src)
    out = str(tmp_path / name)
    with video.VideoWriter(out, kind, like=info) as w:
        for f in video.read_frames(src, start=3):
            w.write(f, pattern_alpha(f.index, info.width, info.height))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = list(video.read_frames(out))
    assert len(back) == 9 and back[0].time > 0
