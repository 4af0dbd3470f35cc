"""Files cut off part-way (a copy or a recording that stopped): what is there decodes, with a
warning that counts the loss; an MP4/MOV whose index was never written is one clear line."""
from __future__ import annotations

import re
import warnings

import av
import numpy as np
import pytest

import video
from video.synth import write_pattern_clip

FRAMES = 48
CUTS = (0.1, 0.25, 0.5, 0.75, 0.95)
# name -> write_pattern_clip arguments; "faststart" files are remuxed with the index in front.
# The faststart clips are larger: their index must not fill the first tenth of the file.
FORMATS = {
    "h264-aac.mkv": dict(codec="libx264", audio="aac"),
    "ffv1.mkv": dict(codec="ffv1", pix_fmt="yuv420p"),
    "vp9.webm": dict(codec="libvpx-vp9"),
    "faststart.mp4": dict(codec="libx264", audio="aac", width=640, height=480),
    "faststart.mov": dict(codec="libx264", width=640, height=480),
}


def remux(src: str, dst: str, options: dict) -> str:
    """Copy every packet of `src` into `dst`, with container (muxer) options."""
    with av.open(src) as inp, av.open(dst, "w", options=options) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return dst


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, tuple[bytes, dict[int, np.ndarray]]]:
    """name -> (file bytes, {pts: decoded rgb (H,W,3)} of every frame)."""
    folder = tmp_path_factory.mktemp("whole")
    made = {}
    for name, kwargs in FORMATS.items():
        kwargs = {"width": 160, "height": 120} | kwargs
        path = str(folder / name)
        if name.startswith("faststart"):
            plain = write_pattern_clip(str(folder / f"plain-{name}"), frames=FRAMES, gop=8, **kwargs)
            remux(plain, path, {"movflags": "faststart"})
        else:
            write_pattern_clip(path, frames=FRAMES, gop=8, **kwargs)
        made[name] = (open(path, "rb").read(), {f.pts: f.rgb for f in video.read_frames(path)})
    return made


def cut_copy(folder, name: str, data: bytes, fraction: float) -> str:
    path = folder / f"cut{int(fraction * 100)}-{name}"
    path.write_bytes(data[: int(len(data) * fraction)])
    return str(path)


@pytest.mark.parametrize("fraction", CUTS)
@pytest.mark.parametrize("name", list(FORMATS))
def test_a_cut_file_decodes_what_is_there_and_counts_the_loss(name, fraction, sources, tmp_path):
    data, whole = sources[name]
    assert len(whole) == FRAMES
    path = cut_copy(tmp_path, name, data, fraction)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = video.probe(path)
        frames = list(video.read_frames(path))
    assert 0 < len(frames) < FRAMES and len(frames) == info.num_frames
    assert [f.index for f in frames] == list(range(len(frames)))
    for f in frames:  # each is the very frame of the whole file (B-frames before a cut
        np.testing.assert_array_equal(f.rgb, whole[f.pts])  # can be lost, later ones not)
    if FRAMES - len(frames) > 1:  # a header's end time gives the length to about one frame
        counts = [tuple(map(int, m.groups())) for w in caught
                  if (m := re.search(r"(\d+) of (\d+) frames could not be decoded", str(w.message)))]
        assert len(counts) == 1, [str(w.message) for w in caught]
        lost, claimed = counts[0]
        assert abs(claimed - FRAMES) <= 1 and lost == claimed - len(frames)


@pytest.mark.parametrize("fraction", (0.5, 0.75))
@pytest.mark.parametrize("name", ["h264-aac.mkv", "vp9.webm", "faststart.mov"])
def test_a_chunk_of_a_cut_file_reads_like_the_whole(name, fraction, sources, tmp_path):
    data, whole = sources[name]
    path = cut_copy(tmp_path, name, data, fraction)
    n = video.probe(path).num_frames
    chunk = list(video.read_frames(path, start=n // 2, stop=n))
    assert [f.index for f in chunk] == list(range(n // 2, n))
    for f in chunk:
        np.testing.assert_array_equal(f.rgb, whole[f.pts])


@pytest.mark.parametrize("fraction", CUTS)
@pytest.mark.parametrize("ext", [".mp4", ".mov"])
def test_an_mp4_cut_before_its_index_is_one_clear_line(ext, fraction, tmp_path):
    path = write_pattern_clip(str(tmp_path / f"whole{ext}"), frames=FRAMES, width=160, height=120, gop=8)
    data = open(path, "rb").read()
    assert data.find(b"moov") > data.find(b"mdat") > 0  # the index is written last
    cut = cut_copy(tmp_path, f"c{ext}", data, fraction)
    with pytest.raises(video.VideoError) as err:
        video.probe(cut)
    message = str(err.value)
    assert "\n" not in message and message.startswith(cut)
    assert "index (moov atom)" in message and "cannot be decoded" in message


class _FailingContainer:
    """An input container that fails as the Matroska demuxer did for the issue's cut file
    (EPERM; a disk or network read error looks the same): its demuxer after `after`
    packets, and every seek."""

    def __init__(self, container, after: int | None):
        self._container, self._after = container, after

    def __getattr__(self, name):
        return getattr(self._container, name)

    def demux(self, *args, **kwargs):
        for i, packet in enumerate(self._container.demux(*args, **kwargs)):
            if i == self._after:
                raise av.error.PermissionError(1, "Operation not permitted")
            yield packet

    def seek(self, *args, **kwargs):
        raise av.error.PermissionError(1, "Operation not permitted")


def failing_open(monkeypatch, after: int | None) -> None:
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: _FailingContainer(real_open(*a, **k), after))


def test_a_read_error_after_some_frames_is_a_warning_with_the_loss(sources, tmp_path, monkeypatch):
    path = tmp_path / "whole.mkv"
    path.write_bytes(sources["h264-aac.mkv"][0])
    failing_open(monkeypatch, after=20)
    with pytest.warns(UserWarning, match=r"read error after \d+ frames \(Operation not permitted\); "
                                         rf"\d+ of {FRAMES} frames are lost"):
        info = video.probe(path)
    assert 0 < info.num_frames < FRAMES


def test_a_chunk_is_read_from_the_top_where_the_file_refuses_to_seek(sources, tmp_path, monkeypatch):
    path = tmp_path / "whole.webm"
    path.write_bytes(sources["vp9.webm"][0])
    whole = sources["vp9.webm"][1]
    failing_open(monkeypatch, after=None)
    chunk = list(video.read_frames(path, start=30, stop=36))
    assert [f.index for f in chunk] == list(range(30, 36))
    for f in chunk:
        np.testing.assert_array_equal(f.rgb, whole[f.pts])
