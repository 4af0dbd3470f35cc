"""Segments: pieces of an output encoded apart join, without re-encoding, into a file that
reads back like one writer's: every frame, its source timing, its alpha, the audio once."""
from __future__ import annotations

import copy
from fractions import Fraction

import av
import numpy as np
import pytest

import video
from video.errors import VideoError
from video.segments import SegmentEncoder
from video.synth import pattern_alpha, write_pattern_clip

PIECES = ((0, 5), (5, 6), (6, 13), (13, 16))  # one of a single frame: shorter than H.264's reorder delay
VFR_PTS = [0, 1, 3, 4, 7, 8, 9, 12, 13, 14, 20, 21, 22, 25, 26, 27]  # 1/60 s


def encode_pieces(src: str, name: str, kind: str, pieces=PIECES, **kw) -> list:
    info = video.probe(src)
    frames = list(video.read_frames(src))
    segments = []
    for start, stop in pieces:
        encoder = SegmentEncoder(name, kind, info, first_output_frame=start, **kw)
        for f in frames[start:stop]:
            encoder.write(f, pattern_alpha(f.index, info.width, info.height))
        segments.append(encoder.finish())
    return segments


def join(out, src: str, kind: str, segments, **kw) -> None:
    with video.VideoWriter(out, kind, like=video.probe(src), **kw) as writer:
        for segment in segments:
            writer.write_segment(segment)


def write_whole(out, src: str, kind: str, **kw) -> None:
    info = video.probe(src)
    with video.VideoWriter(out, kind, like=info, **kw) as writer:
        for f in video.read_frames(src):
            writer.write(f, pattern_alpha(f.index, info.width, info.height))


def keyframes(path) -> list[int]:
    with av.open(str(path)) as c:
        packets = [p for p in c.demux(c.streams.video[0]) if p.size]
        order = sorted(p.pts for p in packets)
        return [order.index(p.pts) for p in packets if p.is_keyframe]


@pytest.fixture(scope="module", params=["cfr", "vfr"])
def source(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("segments")
    if request.param == "cfr":
        return write_pattern_clip(str(folder / "cfr.mp4"), frames=16, width=96, height=64, audio="aac", gop=3)
    return write_pattern_clip(str(folder / "vfr.mp4"), frames=16, width=96, height=64, pts=VFR_PTS,
                              time_base=Fraction(1, 60), gop=3)


@pytest.mark.parametrize("name,kind,max_err", [
    ("matte.mp4", "alpha", 0.06), ("rgba.webm", "rgba", 0.08), ("rgba.mov", "rgba", 0.01),
    ("matte.mkv", "alpha", 0.003), ("rgba.mkv", "rgba", 0.003)])
def test_joined_file_reads_back_like_one_writers(tmp_path, source, name, kind, max_err):
    join(tmp_path / name, source, kind, encode_pieces(source, name, kind))
    write_whole(tmp_path / f"whole.{name}", source, kind)
    info, src = video.probe(str(tmp_path / name)), video.probe(source)
    back = list(video.read_frames(str(tmp_path / name), alpha=True))
    whole = list(video.read_frames(str(tmp_path / f"whole.{name}"), alpha=True))
    assert len(back) == len(whole) == src.num_frames == 16
    assert [f.time for f in back] == [f.time for f in whole]
    assert np.allclose([f.time for f in back], [float(p * src.time_base) for p in src.frame_pts], atol=6e-4)
    errors = [np.abs(b.alpha - pattern_alpha(b.index, src.width, src.height)).max() for b in back]
    assert max(errors) < max_err
    if name.endswith(".mkv") or name.endswith(".mov"):  # lossless or intra-only: the same pictures
        assert all(np.array_equal(b.alpha, w.alpha) for b, w in zip(back, whole))
    assert set(keyframes(tmp_path / name)) >= {start for start, _ in PIECES}  # each piece decodes alone
    assert info.has_audio == src.has_audio


def test_segments_depend_on_their_frames_only(tmp_path, source):
    """Encoded in another order, or rebuilt from a copy of their fields, the pieces join
    into the same bytes; H.264 with its reordered frames and VP9 alpha included. (Between
    processes, as Ray sends them: tests/test_pipelines_distributed.py.)"""
    for name, kind in (("matte.mp4", "alpha"), ("rgba.webm", "rgba"), ("rgba.mov", "rgba")):
        forward = encode_pieces(source, name, kind)
        backward = encode_pieces(source, name, kind, pieces=PIECES[::-1])[::-1]
        join(tmp_path / f"a.{name}", source, kind, forward)
        join(tmp_path / f"b.{name}", source, kind, [copy.deepcopy(s) for s in backward])
        assert (tmp_path / f"a.{name}").read_bytes() == (tmp_path / f"b.{name}").read_bytes()


def test_h264_encodes_the_same_frames_into_the_same_bytes(source):
    """x264's AVX-512 routines did not (about 1 run in 6 differed): `video.encoding` keeps
    x264 to its AVX2 set on such CPUs."""
    runs = {tuple(p.data for s in encode_pieces(source, "matte.mp4", "alpha") for p in s.packets)
            for _ in range(12)}
    assert len(runs) == 1


def test_composite_background_video_continues_across_pieces(tmp_path, source):
    backdrop = write_pattern_clip(str(tmp_path / "bg.mp4"), frames=5, width=96, height=64)  # loops thrice
    join(tmp_path / "c.mkv", source, "composite", encode_pieces(source, "c.mkv", "composite", background=backdrop),
         background=backdrop)
    write_whole(tmp_path / "whole.mkv", source, "composite", background=backdrop)
    back = [f.rgb for f in video.read_frames(str(tmp_path / "c.mkv"))]
    whole = [f.rgb for f in video.read_frames(str(tmp_path / "whole.mkv"))]
    assert len(back) == 16 and all(np.array_equal(b, w) for b, w in zip(back, whole))


def test_png_folders_take_frames_not_segments(tmp_path, source):
    info = video.probe(source)
    with pytest.raises(VideoError, match="PNG folder"):
        SegmentEncoder(tmp_path / "frames", "alpha", info)
    segment = encode_pieces(source, "m.mkv", "alpha", pieces=((0, 2),))[0]
    with pytest.raises(VideoError, match="PNG folder"):
        join(tmp_path / "frames", source, "alpha", [segment])
    assert not (tmp_path / "frames").exists() and sorted(p.name for p in tmp_path.iterdir()) == []
