"""Audio for a written video: copied packet by packet, or transcoded where the container insists."""
from __future__ import annotations

from fractions import Fraction

import av

# Audio codecs each output container takes as they are; anything else is transcoded.
COPYABLE = {
    "mp4": {"aac", "mp3", "opus", "flac", "alac", "ac3", "eac3"},
    "mov": {"aac", "mp3", "alac", "ac3", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_f32le"},
    "webm": {"opus", "vorbis"},
    "matroska": None,  # None: every codec
}
TRANSCODE_TO = {"mp4": "aac", "mov": "aac", "webm": "libopus", "matroska": "libopus"}


class AudioMux:
    """Streams the first audio track of `source` into `output`, interleaved with the video.

    Created before the first video packet is muxed (the header needs the stream);
    `advance(t)` muxes audio up to t seconds, `finish(end)` the rest (up to `end` if given).
    Audio before `start` seconds is skipped so a cut range stays in sync.
    """

    def __init__(self, output: av.container.OutputContainer, fmt: str, source: str, start: float = 0.0):
        self._src = av.open(source)
        self._in = self._src.streams.audio[0]
        self._out_container = output
        self._start = start
        name = self._in.codec_context.name
        allowed = COPYABLE[fmt]
        self.copied = allowed is None or name in allowed
        if self.copied:
            self.stream = output.add_stream_from_template(self._in)
        else:
            self._make_encoder(output, TRANSCODE_TO[fmt])
        self._packets = self._src.demux(self._in)
        self._pending: av.Packet | None = None

    def _make_encoder(self, output, codec: str) -> None:
        cc_in = self._in.codec_context
        rate = 48000 if codec == "libopus" else (cc_in.sample_rate or 48000)
        layout = cc_in.layout.name if cc_in.layout and cc_in.layout.nb_channels <= 2 else "stereo"
        self.stream = output.add_stream(codec, rate=rate, layout=layout)
        fmt = av.Codec(codec, "w").audio_formats[0].name
        self.stream.codec_context.format = fmt
        self.stream.codec_context.time_base = Fraction(1, rate)
        self._resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        self._fifo = av.AudioFifo()

    def _time(self, packet: av.Packet) -> float:
        return float((packet.pts or 0) * packet.time_base)

    def advance(self, until: float | None) -> None:
        """Mux audio packets that start before `until` seconds (all when None)."""
        while True:
            pkt = self._pending if self._pending is not None else next(self._packets, None)
            self._pending = None
            if pkt is None:
                return
            if pkt.size == 0 or pkt.pts is None:
                continue
            t = self._time(pkt)
            if until is not None and t >= until:
                self._pending = pkt
                return
            end = t + float((pkt.duration or 0) * pkt.time_base)
            if end <= self._start and t < self._start:
                continue
            self._mux(pkt)

    def _mux(self, pkt: av.Packet) -> None:
        if self.copied:
            pkt.stream = self.stream
            self._out_container.mux(pkt)
            return
        for frame in self._in.codec_context.decode(pkt):
            self._encode(frame)

    def _encode(self, frame: av.AudioFrame | None) -> None:
        frames = self._resampler.resample(frame)
        for f in frames:
            self._fifo.write(f)
        size = self.stream.codec_context.frame_size or 1024
        while self._fifo.samples >= size or (frame is None and self._fifo.samples):
            chunk = self._fifo.read(min(size, self._fifo.samples))
            self._out_container.mux(self.stream.encode(chunk))

    def finish(self, end: float | None) -> None:
        """Mux the remaining audio (up to `end` seconds) and flush an encoder."""
        self.advance(end)
        if not self.copied:
            self._encode(None)
            self._out_container.mux(self.stream.encode(None))
        self.close()

    def close(self) -> None:
        """Close the source file."""
        self._src.close()
