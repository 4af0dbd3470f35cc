"""video.probe / read_frames / read_frames_at on clips generated here with PyAV."""
import threading
from fractions import Fraction

import cv2
import numpy as np
import pytest

import video
from video.random_access import decord_agrees
from video.synth import write_pattern_clip, pattern

CODECS = [  # (file name, codec, pix_fmt, options)
    ("h264.mp4", "libx264", "yuv420p", {"bf": "2"}),
    ("h264_422_10bit.mkv", "libx264", "yuv422p10le", {}),
    ("h265_10bit.mkv", "libx265", "yuv420p10le", {"x265-params": "log-level=none:keyint=4"}),
    ("vp9_444.webm", "libvpx-vp9", "yuv444p", {"deadline": "realtime"}),
    ("prores.mov", "prores_ks", "yuv422p10le", {}),
    ("ffv1.mkv", "ffv1", "yuv444p", {}),
    ("mjpeg.avi", "mjpeg", "yuvj420p", {}),
    ("anim.gif", "gif", "rgb8", {}),
]


def _decode_all(path):
    return list(video.read_frames(path))


@pytest.mark.parametrize("name,codec,pix_fmt,options", CODECS, ids=[c[0] for c in CODECS])
def test_counts_pts_and_chunks_join(tmp_path, name, codec, pix_fmt, options):
    odd = pix_fmt in ("yuv444p", "yuvj420p", "rgb8")  # odd sizes where the codec allows them
    path = write_pattern_clip(str(tmp_path / name), frames=12, width=63 if odd else 64,
                              height=47 if odd else 48, codec=codec, pix_fmt=pix_fmt, options=options)
    info = video.probe(path)
    full = _decode_all(path)
    assert info.num_frames == len(full) == 12
    assert [f.index for f in full] == list(range(12))
    assert [f.pts for f in full] == list(info.frame_pts)
    assert all(f.rgb.shape == (info.height, info.width, 3) and f.rgb.dtype == np.uint8 for f in full)
    tol = 24 if codec == "gif" else 12  # rgb8 GIF palettes are coarse
    assert np.abs(full[5].rgb.astype(int) - pattern(5, info.width, info.height)).mean() < tol
    chunks = [f for a, b in [(0, 5), (5, 6), (6, 11), (11, 12)] for f in video.read_frames(path, a, b)]
    assert [c.pts for c in chunks] == [f.pts for f in full]
    assert all(np.array_equal(c.rgb, f.rgb) for c, f in zip(chunks, full))


def test_vfr_pts_kept(tmp_path):
    pts = [0, 10, 15, 40, 41, 60, 90, 91, 120, 150, 151, 152]
    path = write_pattern_clip(str(tmp_path / "vfr.mkv"), pts=pts, time_base=Fraction(1, 100))
    times = [f.time for f in video.read_frames(path)]
    assert np.allclose(times, np.asarray(pts) / 100, atol=1e-3)
    part = list(video.read_frames(path, 4, 8))
    assert [f.index for f in part] == [4, 5, 6, 7]
    assert np.allclose([f.time for f in part], np.asarray(pts[4:8]) / 100, atol=1e-3)


def test_a_stamp_is_the_decoded_frame_without_its_pixels(tmp_path):
    pts = [0, 10, 15, 40, 41, 60]
    vfr = write_pattern_clip(str(tmp_path / "vfr.mkv"), frames=6, pts=pts, time_base=Fraction(1, 100))
    bframes = write_pattern_clip(str(tmp_path / "b.mp4"), frames=6, options={"bf": "2"})
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), pattern(i, 32, 24))
    for path in (vfr, bframes, str(folder)):
        info = video.probe(path)
        for frame in video.read_frames(path):
            stamp = video.stamp(info, frame.index)
            assert (stamp.index, stamp.pts, stamp.time, stamp.time_base, stamp.rgb) == \
                (frame.index, frame.pts, frame.time, frame.time_base, None)


def test_ntsc_rate_is_exact(tmp_path):
    path = write_pattern_clip(str(tmp_path / "ntsc.mp4"), rate=Fraction(30000, 1001))
    info = video.probe(path)
    assert info.fps == Fraction(30000, 1001)
    assert [f.time for f in video.read_frames(path)][:3] == [0.0, float(Fraction(1001, 30000)),
                                                              float(Fraction(2002, 30000))]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_applied(tmp_path, rotation):
    plain = write_pattern_clip(str(tmp_path / "plain.mp4"), width=64, height=48)
    rotated = write_pattern_clip(str(tmp_path / "rot.mp4"), width=64, height=48, rotation=rotation)
    info = video.probe(rotated)
    assert info.rotation == rotation
    assert (info.width, info.height) == ((48, 64) if rotation % 180 else (64, 48))
    a = next(iter(video.read_frames(plain))).rgb
    b = next(iter(video.read_frames(rotated))).rgb
    assert np.array_equal(np.rot90(a, rotation // 90), b)
    assert np.array_equal(video.read_frames_at(rotated, [0])[0], b)


def test_image_folder_natural_sort_and_fps(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(11):
        ext = ".png" if i % 2 else ".jpg"
        cv2.imwrite(str(folder / f"frame{i}{ext}"), cv2.cvtColor(pattern(i, 33, 21), cv2.COLOR_RGB2BGR))
    info = video.probe(str(folder))
    assert (info.num_frames, info.width, info.height, info.fps) == (11, 33, 21, 30)
    frames = list(video.read_frames(str(folder), 2, 10))
    assert [f.index for f in frames] == list(range(2, 10))
    assert np.array_equal(frames[1].rgb, pattern(3, 33, 21))  # frame3.png is lossless
    assert video.probe(str(folder), fps=Fraction(24000, 1001)).fps == Fraction(24000, 1001)


def test_read_frames_at_matches_sequential(tmp_path):
    path = write_pattern_clip(str(tmp_path / "c.mp4"), frames=30, options={"bf": "2"}, gop=8)
    full = np.stack([f.rgb for f in video.read_frames(path)])
    idx = [29, 0, 17, 17, 3, 12]
    got = video.read_frames_at(path, idx)
    assert got.shape == (6, 48, 64, 3)
    if decord_agrees(video.probe(path)):  # decord pixels differ by its colour conversion only
        assert np.abs(got.astype(int) - full[idx]).mean() < 2.0
    else:
        assert np.array_equal(got, full[idx])
    with pytest.raises(video.VideoError):
        video.read_frames_at(path, [30])


def test_read_frames_at_pyav_fallback_is_exact(tmp_path):
    pts = [0, 10, 15, 40, 41, 60, 90, 91, 120, 150, 151, 152]
    path = write_pattern_clip(str(tmp_path / "vfr.mkv"), pts=pts, time_base=Fraction(1, 100))
    full = np.stack([f.rgb for f in video.read_frames(path)])
    rgba = video.read_frames_at(path, [7, 2], alpha=True)  # alpha always takes PyAV
    assert rgba.shape == (2, 48, 64, 4)
    assert np.array_equal(rgba[..., :3], full[[7, 2]])


def test_early_break_does_not_hang(tmp_path):
    path = write_pattern_clip(str(tmp_path / "c.mp4"), frames=40)
    done = threading.Event()

    def run():
        for _ in range(5):
            for f in video.read_frames(path):
                if f.index == 3:
                    break
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(60)


def test_audio_detected(tmp_path):
    info = video.probe(write_pattern_clip(str(tmp_path / "a.mp4"), audio="aac"))
    assert info.has_audio and info.audio_codec == "aac"
    assert not video.probe(write_pattern_clip(str(tmp_path / "b.mp4"))).has_audio
