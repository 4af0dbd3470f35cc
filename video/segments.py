"""Pieces of one output encoded apart (on the workers that made their mattes) and joined
into one file without re-encoding.

A `SegmentEncoder` encodes consecutive frames of an output with exactly the set-up its
`VideoWriter` would use (`video.encoding.FrameEncoder`); a fresh encoder starts with a
keyframe, so every segment decodes on its own. `VideoWriter.write_segment` appends
segments in order and muxes the audio once. A segment depends only on its frames, so a
file joined from the same chunk plan is the same, byte for byte, whoever encoded each piece.

The packets travel as bytes with their timestamps in the source's time base; for matroska
outputs (millisecond clock) as a matroska file, which also keeps the packets' side data
(the alpha plane of VP9 rides in it).
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Iterator

import av
import numpy as np

from video.encoding import FrameEncoder, choose_encoding
from video.errors import VideoError
from video.probe import VideoInfo
from video.reader import DECODE_THREADS, Frame

MATROSKA = ("matroska", "webm")  # outputs whose segments travel as a matroska file


@dataclass(frozen=True)
class Packet:
    """One encoded packet: its bytes, timestamps (in `Segment.time_base`) and keyframe flag."""

    data: bytes
    pts: int
    dts: int
    keyframe: bool


@dataclass(frozen=True)
class Segment:
    """Consecutive frames of one output, encoded.

    frames: the stamps (index, pts, time; no pixels) of the frames it holds, in order.
    packets: the packets in decode order, or `matroska`: a matroska file holding them.
    """

    frames: tuple[Frame, ...]
    time_base: Fraction
    packets: tuple[Packet, ...] = ()
    matroska: bytes | None = None

    def av_packets(self) -> Iterator[av.Packet]:
        """The packets as PyAV packets, timestamps in their own time base."""
        if self.matroska is None:
            for p in self.packets:
                packet = av.Packet(p.data)
                packet.pts, packet.dts, packet.is_keyframe = p.pts, p.dts, p.keyframe
                packet.time_base = self.time_base
                yield packet
            return
        with av.open(io.BytesIO(self.matroska), "r") as container:
            stream = container.streams.video[0]
            for packet in container.demux(stream):
                if packet.size:
                    yield packet


class SegmentEncoder:
    """Encodes frames of the output `path` (its kind and extension decide the encoding, as
    for `VideoWriter`; nothing is written there) into one `Segment`.

    `first_output_frame`: how many frames of the output come before this segment (a
    composite's background video plays from there). `write` as `VideoWriter.write`;
    `finish()` gives the segment.
    """

    def __init__(self, path: str | os.PathLike, kind: str, like: VideoInfo, background=None,
                 first_output_frame: int = 0, crf: int | None = None,
                 threads: int = DECODE_THREADS):
        enc = choose_encoding(path, kind)
        if enc.fmt is None:
            raise VideoError(f"{path}: a PNG folder is written frame by frame, not from segments")
        self.path = path
        self._encoder = FrameEncoder(enc, kind, like, background, crf, threads=threads,
                                     background_start=first_output_frame)
        self._time_base = like.time_base
        self._buffer = io.BytesIO()
        self._matroska = enc.fmt in MATROSKA
        # the output's own container format: the encoder gets its flags (global headers);
        # only a matroska segment is muxed into it
        self._container = av.open(self._buffer, "w", format="matroska" if self._matroska else enc.fmt)
        self._encoder.attach(self._container)
        self._frames: list[Frame] = []
        self._packets: list[Packet] = []
        self._closed = False

    def write(self, frame: Frame, alpha: np.ndarray, foreground: np.ndarray | None = None) -> None:
        """Encode one frame: alpha (H,W) float in [0,1], foreground F (H,W,3) uint8 or None."""
        image = self._encoder.picture(frame, alpha, foreground, self.path)
        self._take(self._encoder.encode(frame, image))
        self._frames.append(replace(frame, rgb=None, alpha=None))  # its stamp: no pixels

    def _take(self, packets: list[av.Packet]) -> None:
        if self._matroska:
            self._container.mux(packets)
        else:
            self._packets.extend(Packet(bytes(p), p.pts, p.dts, p.is_keyframe) for p in packets)

    def finish(self) -> Segment:
        """Flush the encoder; the segment of every frame written."""
        if not self._frames:
            self.close()
            raise VideoError(f"{self.path}: a segment needs at least one frame")
        try:
            self._take(self._encoder.flush())
        finally:
            self.close()
        return Segment(tuple(self._frames), self._time_base, tuple(self._packets),
                       self._buffer.getvalue() if self._matroska else None)

    def close(self) -> None:
        """Release the encoder (and a composite's background video); idempotent."""
        if not self._closed:
            self._closed = True
            self._container.close()
            self._encoder.close()

    def __enter__(self) -> "SegmentEncoder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Joiner:
    """Gives the packets of consecutive segments to one output stream with decode
    timestamps that rise across the joins.

    An encoder that reorders frames (H.264 B-frames) starts each segment with decode
    timestamps `delay` frames before its first picture, which can fall before the
    previous segment's last. As one encoder would, a packet's dts becomes the pts `delay`
    places earlier in presentation order over the whole file: the first segment's leading
    decode times stay, later segments take the previous segment's last pts.
    """

    def __init__(self, stream: av.VideoStream):
        self.stream = stream
        self._tail: list[int] | None = None  # the last `delay` presentation times so far

    def packets(self, segment: Segment) -> Iterator[av.Packet]:
        """The segment's packets, bound to the stream, with joined decode timestamps."""
        packets = list(segment.av_packets())
        order = sorted(p.pts for p in packets)
        if self._tail is None:  # the first segment keeps the encoder's leading decode times
            self._tail = sorted(p.dts for p in packets if p.dts < order[0])
        times = self._tail + order
        for packet, dts in zip(packets, times):
            packet.dts = dts
            packet.stream = self.stream
            yield packet
        self._tail = times[len(times) - len(self._tail):] if self._tail else []
