"""Bad input gives one-line VideoErrors; cut or damaged streams yield what decodes and warn."""
import av
import numpy as np
import pytest

import video
from video.synth import write_pattern_clip
from pipelines_fixtures import probe_error


def test_missing_empty_and_not_a_video(tmp_path):
    assert "no such file" in probe_error(tmp_path / "missing.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert "empty" in probe_error(tmp_path / "empty.mp4")
    (tmp_path / "text.mp4").write_text("hello, I am not a video\n" * 50)
    assert "not a readable video" in probe_error(tmp_path / "text.mp4")
    (tmp_path / "imgs").mkdir()
    assert "no images" in probe_error(tmp_path / "imgs")
    with pytest.raises(video.VideoError):
        list(video.read_frames(tmp_path / "missing.mp4"))


def test_no_video_stream(tmp_path):
    path = tmp_path / "audio.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("aac", rate=44100, layout="stereo")
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
        for p in frame.planes:
            p.update(bytes(p.buffer_size))
        frame.sample_rate, frame.pts = 44100, 0
        out.mux(s.encode(frame))
        out.mux(s.encode(None))
    assert "no video stream" in probe_error(path)


def test_truncated_mp4_without_index_is_an_error(tmp_path):
    path = write_pattern_clip(str(tmp_path / "c.mp4"), frames=12)
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])  # moov atom is at the end: nothing is indexed
    probe_error(path)


def test_truncated_stream_yields_decodable_frames_and_warns(tmp_path):
    path = write_pattern_clip(str(tmp_path / "c.mkv"), frames=24, codec="mjpeg", pix_fmt="yuvj420p")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: int(len(data) * 0.6)])
    with pytest.warns(UserWarning, match="could not be decoded"):
        frames = list(video.read_frames(path))
    assert 5 < len(frames) < 24
    assert [f.index for f in frames] == list(range(len(frames)))


def test_corrupt_data_yields_what_decodes_and_warns(tmp_path):
    path = write_pattern_clip(str(tmp_path / "c.mkv"), frames=24)
    data = bytearray(open(path, "rb").read())
    a, b = int(len(data) * 0.4), int(len(data) * 0.6)
    data[a:b] = np.random.default_rng(0).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    open(path, "wb").write(bytes(data))
    with pytest.warns(UserWarning, match="could not be decoded"):
        frames = list(video.read_frames(path))
    assert 0 < len(frames) < 24
    assert [f.index for f in frames] == list(range(len(frames)))
