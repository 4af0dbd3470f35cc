"""VideoWriter: one output file (or PNG folder) of any kind, with audio, renamed into place
only when complete; the encoding itself is `video.encoding`'s."""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import time
import uuid
from pathlib import Path

import av
import numpy as np

from video.audio import AudioMux
from video.encoding import FrameEncoder, choose_encoding
from video.errors import VideoError
from video.probe import VideoInfo, probe
from video.reader import DECODE_THREADS, Frame
from video.segments import Joiner, Segment
from video.transaction import Transaction

FRAME_NAME = re.compile(r"\d{6}\.png")  # the PNG frames a folder output holds
STALE_SECONDS = 60  # an unlocked temporary output this old was left by a run that died


def part_pattern(path: str | os.PathLike) -> re.Pattern:
    """The temporary names a VideoWriter uses for ``path``: ``.NAME.<8 hex>.part``."""
    return re.compile(rf"\.{re.escape(Path(path).name)}\.[0-9a-f]{{8}}\.part")


def remove_stale_parts(path: str | os.PathLike) -> list[str]:
    """Delete what killed runs left beside ``path`` (their ``.NAME.<8 hex>.part``) and
    return the names removed. Only that exact pattern for this output name, only when
    older than STALE_SECONDS, and only when no process holds its lock (a live writer
    keeps one on its temporary output, so another run's output in progress stays)."""
    path = Path(path)
    pattern, removed = part_pattern(path), []
    try:
        entries = [e for e in os.scandir(path.parent) if pattern.fullmatch(e.name)]
    except OSError:
        return removed
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
            if time.time() - st.st_mtime < STALE_SECONDS or not (
                    stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if stat.S_ISREG(st.st_mode):
                os.unlink(entry.path)
            elif all(FRAME_NAME.fullmatch(name) for name in os.listdir(entry.path)):
                shutil.rmtree(entry.path)
            else:
                continue
            removed.append(entry.name)
        except OSError:  # locked by a live writer, or not ours to remove
            continue
        finally:
            os.close(fd)
    return removed


def hold_lock(path: Path, create: bool = False) -> int:
    """An open descriptor holding a shared flock on ``path`` (a file or folder; `create`:
    a new empty file) for as long as it stays open: the mark of a live writer that
    `remove_stale_parts` respects."""
    fd = os.open(path, os.O_RDONLY | (os.O_CREAT | os.O_EXCL if create else 0), 0o666)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def check_replaceable(path: str | os.PathLike, folder: bool) -> None:
    """Refuse to replace anything at ``path`` but an output of the same form: a file by a
    file, and a folder (PNG sequence) only by a folder that is empty or holds nothing but
    our own frames. Raises VideoError with one line; the user's files stay untouched."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if folder and path.is_symlink():
        raise VideoError(f"{path}: is a symbolic link; refusing to replace it with a PNG folder")
    if path.is_dir() != folder:
        what = "a folder" if path.is_dir() else "a file"
        raise VideoError(f"{path}: exists and is {what}; refusing to replace it with "
                         f"{'a PNG folder' if folder else 'a video file'}")
    if folder:
        foreign = next((e.name for e in path.iterdir()
                        if not (FRAME_NAME.fullmatch(e.name) and e.is_file() and not e.is_symlink())), None)
        if foreign is not None:
            raise VideoError(f"{path}: folder holds {foreign!r}, which is not a frame of ours; "
                             "refusing to replace it (choose an empty or new folder)")


class VideoWriter(Transaction):
    """Context manager writing one output (a `Transaction`); `write(frame, alpha)` per source frame, or
    `write_segment(segment)` for frames encoded elsewhere (`video.segments`).

    path: file (.mp4 .mov .mkv .webm) or a folder (PNG frames named by frame index).
    like: the source's VideoInfo (or path): size, time_base, fps, colour and audio come
    from it; each written frame keeps its source pts. Output goes to a temporary name
    beside `path` and is renamed only when `close()` succeeds; on error nothing is left.
    background: colour, image or video (composite kind). bit_depth: 8 or 16 (PNG only).
    """

    def __init__(self, path: str | os.PathLike, kind: str = "alpha", like: VideoInfo | str | None = None,
                 background=None, audio: bool = True, crf: int | None = None, bit_depth: int = 8,
                 threads: int = DECODE_THREADS):
        if like is None:
            raise VideoError("VideoWriter needs like= (the source VideoInfo or path)")
        self.like = like if isinstance(like, VideoInfo) else probe(like)
        self.path = Path(path)
        self.kind = kind
        enc = choose_encoding(path, kind)
        if bit_depth not in (8, 16) or (bit_depth == 16 and enc.fmt is not None):
            raise VideoError(f"bit_depth {bit_depth}: only 8, or 16 for PNG folders")
        self.bit_depth = bit_depth
        if not self.path.parent.is_dir():
            raise VideoError(f"{self.path}: output folder {self.path.parent} does not exist")
        check_replaceable(self.path, folder=enc.fmt is None)
        remove_stale_parts(self.path)
        self._tmp = self.path.parent / f".{self.path.name}.{uuid.uuid4().hex[:8]}.part"
        self._lock: int | None = None  # descriptor holding the lock on self._tmp
        self._encoder = FrameEncoder(enc, kind, self.like, background, crf, bit_depth, threads)
        self.enc = self._encoder.enc
        self._audio_wanted = audio
        self._container = None
        self._stream = None
        self._joiner: Joiner | None = None
        self._audio: AudioMux | None = None
        self._first: Frame | None = None
        self._last: Frame | None = None
        self.frames_written = 0
        self._closed = False

    # -- frames -------------------------------------------------------------------------
    def write(self, frame: Frame, alpha: np.ndarray, foreground: np.ndarray | None = None) -> None:
        """Encode one output frame from the source `frame` and its alpha (H,W) float in [0,1].

        `foreground`: the colour F (H,W,3) uint8 when already estimated (where the matte
        was made); else the colour kinds estimate it here (`estimate_foreground`). A
        `stamp` (no pixels) is enough for mattes, and for rgba, composite and foreground
        outputs given F; a preview shows the source, so it needs the pixels.
        """
        if self._closed:
            raise VideoError(f"{self.path}: writer is closed")
        try:
            image = self._encoder.picture(frame, alpha, foreground, self.path)
            if self.enc.fmt is None:
                self._write_png(frame.index, image)
            else:
                if self._container is None:
                    self._open(frame)
                if self._audio is not None:
                    self._audio.advance(frame.time)
                self._container.mux(self._encoder.encode(frame, image))
        except BaseException:
            self.abort()
            raise
        self._count(frame, frame)

    def write_segment(self, segment: Segment) -> None:
        """Append the frames of `segment` (a `SegmentEncoder` of this output, with this
        writer's settings, encoded them), in order after those written so far, without
        re-encoding them."""
        if self._closed:
            raise VideoError(f"{self.path}: writer is closed")
        if self.enc.fmt is None:
            self.abort()
            raise VideoError(f"{self.path}: a PNG folder is written frame by frame, not from segments")
        if not segment.frames:
            return
        try:
            if self._container is None:
                self._open(segment.frames[0])
                self._joiner = Joiner(self._stream)
            for packet in self._joiner.packets(segment):
                if self._audio is not None:
                    self._audio.advance(float(packet.dts * packet.time_base))
                self._container.mux(packet)
        except BaseException:
            self.abort()
            raise
        self._count(segment.frames[0], segment.frames[-1], len(segment.frames))

    def _count(self, first: Frame, last: Frame, frames: int = 1) -> None:
        self._first = self._first or first
        self._last = last
        self.frames_written += frames

    def _write_png(self, index: int, image: np.ndarray) -> None:
        import cv2

        self._tmp.mkdir(exist_ok=True)
        if self._lock is None:
            self._lock = hold_lock(self._tmp)
        full = 65535.0 if self.bit_depth == 16 else 255.0
        img = image.astype(np.float32) if image.dtype != np.uint8 else image.astype(np.float32) / 255.0
        arr = np.clip(np.rint(img * full), 0, full).astype(np.uint16 if self.bit_depth == 16 else np.uint8)
        if arr.ndim == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if arr.shape[2] == 4 else cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(self._tmp / f"{index:06d}.png"), arr):
            raise VideoError(f"{self.path}: could not write frame {index}")

    def _open(self, first: Frame) -> None:
        like = self.like
        self._lock = hold_lock(self._tmp, create=True)  # PyAV creates the file only later
        # bitexact: no random ids or dates in the header, so the same frames give the same bytes
        self._container = av.open(str(self._tmp), "w", format=self.enc.fmt, options={"fflags": "+bitexact"})
        self._stream = self._encoder.attach(self._container)
        if self._audio_wanted and like.has_audio and not like.is_folder:
            self._audio = AudioMux(self._container, self.enc.fmt, like.path, start=first.time)

    # -- finishing ----------------------------------------------------------------------
    def close(self) -> None:
        """Flush encoders, copy the remaining audio and move the output into place."""
        if self._closed:
            return
        try:
            if self.frames_written == 0:
                raise VideoError(f"{self.path}: no frames were written")
            if self._container is not None:
                self._container.mux(self._encoder.flush())
                if self._audio is not None:
                    whole = self._last.index >= self.like.num_frames - 1
                    end = None if whole else self._last.time + float(1 / self.like.fps)
                    self._audio.finish(end)
                self._container.close()
            self._replace()
        except BaseException as exc:
            self.abort()
            if isinstance(exc, (av.FFmpegError, OSError)):
                raise VideoError(f"{self.path}: could not write ({exc})") from None
            raise
        finally:
            self._encoder.close()
            self._unlock()
        self._closed = True

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _replace(self) -> None:
        folder = self.enc.fmt is None
        check_replaceable(self.path, folder)  # again: the path may have changed meanwhile
        if not folder or not self.path.exists():
            os.replace(self._tmp, self.path)
            return
        old = self.path.parent / f".{self.path.name}.{uuid.uuid4().hex[:8]}.old"
        os.replace(self.path, old)
        os.replace(self._tmp, self.path)
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()

    def abort(self) -> None:
        """Drop everything written so far; nothing is left at `path` or the temporary name."""
        if self._closed:
            return
        self._closed = True
        for closer in (self._audio, self._container, self._encoder):
            try:
                if closer is not None:
                    closer.close()
            except Exception:  # noqa: BLE001 - cleanup must not hide the original error
                pass
        if self._tmp.is_dir():
            shutil.rmtree(self._tmp, ignore_errors=True)
        elif self._tmp.exists():
            self._tmp.unlink()
        self._unlock()
