"""Foreground colour estimation and compositing (numpy + OpenCV, no model)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np

from media import IMAGE_EXTENSIONS
from media.pixels import to_uint8
from video.errors import VideoError

COLORS = {
    "black": (0, 0, 0), "white": (255, 255, 255), "green": (0, 255, 0), "blue": (0, 0, 255),
    "red": (255, 0, 0), "gray": (128, 128, 128), "grey": (128, 128, 128),
}


BLUR_RADII = (90, 6)  # blur fusion's box sizes in px: absolute, never scaled (docs/NOTES.md)


def estimate_foreground(image: np.ndarray, alpha: np.ndarray,
                        radii: tuple[int, ...] = BLUR_RADII) -> np.ndarray:
    """Approximate fast foreground colour estimation (blur fusion, Forte & Pitie 2020).

    image (H,W,3) uint8 or float in [0,1]; alpha (H,W) float in [0,1]
    -> foreground F (H,W,3) float32 in [0,1], free of the old background at soft edges.
    Radii are the paper's box-blur sizes in pixels (a large blur, then a small one).

    F is 0 wherever no alpha lies within ``reach`` (the blurs' half-widths summed), so
    only the crop around the matte's bounding box that decides the rest is computed
    (`blur_fusion`): the same F as the whole frame, at a cost that follows the object.
    """
    a = np.clip(alpha.astype(np.float32), 0.0, 1.0)
    fg = np.zeros(a.shape + (3,), np.float32)
    rows, cols = np.flatnonzero(a.any(axis=1)), np.flatnonzero(a.any(axis=0))
    if rows.size == 0:
        return fg
    reach = sum((r | 1) // 2 for r in radii)
    box = [(idx[0], idx[-1] + 1, n) for idx, n in ((rows, a.shape[0]), (cols, a.shape[1]))]
    (y0, y1), (x0, x1) = ((max(lo - reach, 0), min(hi + reach, n)) for lo, hi, n in box)  # F != 0
    (cy0, cy1), (cx0, cx1) = ((max(lo - 2 * reach, 0), min(hi + 2 * reach, n)) for lo, hi, n in box)
    crop = blur_fusion(image[cy0:cy1, cx0:cx1], a[cy0:cy1, cx0:cx1], radii)
    fg[y0:y1, x0:x1] = crop[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
    return fg


def three_channels(x: np.ndarray) -> np.ndarray:
    """(h,w) -> a contiguous (h,w,3) copy."""
    import cv2

    return cv2.merge([x, x, x])


def blur_fusion(image: np.ndarray, a: np.ndarray, radii: tuple[int, ...]) -> np.ndarray:
    """Blur fusion on a whole (crop of a) frame: image (h,w,3) uint8 or float in [0,1],
    a (h,w) float32 in [0,1] -> F (h,w,3) float32. Values within ``reach`` of a side of
    the crop that is not a side of the frame are wrong (the blurs reflect there).

    Each pass is F = (1 - a^2) Fb + a I - a (1 - a) Bb with Fb, Bb the blurred colours,
    in place, on 3-channel copies of the per-pixel weights (numpy broadcasts over a
    trailing axis of 3 at half the speed). `pipelines.foreground` is the torch path.
    """
    import cv2

    img = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    a3, not_a3 = three_channels(a), three_channels(1.0 - a)
    a_img = img * a3
    w_fg, w_bg = three_channels(1.0 - a * a), three_channels(a * (1.0 - a))
    fg, bg, tmp = img, img, np.empty_like(img)
    for r in radii:
        k = (r | 1, r | 1)
        blur_a = cv2.blur(a, k)
        blur_f = cv2.blur(a_img if fg is img else np.multiply(fg, a3, out=tmp), k)
        blur_f *= three_channels(1.0 / (blur_a + 1e-5))
        blur_b = cv2.blur(np.multiply(bg, not_a3, out=tmp), k)
        blur_b *= three_channels(1.0 / ((1.0 - blur_a) + 1e-5))
        fg = np.multiply(blur_f, w_fg, out=blur_f)
        fg += a_img
        fg -= np.multiply(blur_b, w_bg, out=tmp)
        np.clip(fg, 0.0, 1.0, out=fg)
        bg = blur_b
    return fg


def composite(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """fg (H,W,3) float [0,1], alpha (H,W), bg (H,W,3) float [0,1] -> (H,W,3) uint8."""
    a = np.clip(alpha.astype(np.float32), 0.0, 1.0)[:, :, None]
    return to_uint8(fg * a + bg * (1.0 - a))


def checkerboard(height: int, width: int, cell: int = 16) -> np.ndarray:
    """Grey checkerboard (H,W,3) float32, the usual 'transparent' backdrop."""
    yy, xx = np.mgrid[0:height, 0:width]
    board = np.where(((yy // cell) + (xx // cell)) % 2 == 0, 0.8, 0.6).astype(np.float32)
    return np.repeat(board[:, :, None], 3, axis=2)


def parse_color(spec) -> np.ndarray:
    """'green', '#00ff00', '0,255,0' or (0,255,0) -> (3,) float32 in [0,1]."""
    if isinstance(spec, str):
        s = spec.strip().lower()
        if s in COLORS:
            rgb = COLORS[s]
        elif s.startswith("#") and len(s) == 7:
            rgb = tuple(int(s[i:i + 2], 16) for i in (1, 3, 5))
        elif s.count(",") == 2:
            rgb = tuple(int(v) for v in s.split(","))
        else:
            raise VideoError(f"background {spec!r}: not a colour, image or video file")
    else:
        rgb = tuple(int(v) for v in spec)
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise VideoError(f"background {spec!r}: colour needs three values in 0..255")
    return np.asarray(rgb, np.float32) / 255.0


def fit_cover(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize (H,W,C) to cover width x height keeping aspect, then centre-crop."""
    import cv2

    h, w = img.shape[:2]
    s = max(width / w, height / h)
    nw, nh = max(width, int(round(w * s))), max(height, int(round(h * s)))
    resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    y, x = (nh - height) // 2, (nw - width) // 2
    return resized[y:y + height, x:x + width]


class Background:
    """Per-frame backdrop (H,W,3) float32 from a colour, an image, or a video (looped);
    `start`: the first call of `next` gives the video's frame `start` (modulo its length)."""

    def __init__(self, spec, width: int, height: int, default="white", start: int = 0):
        self.width, self.height = width, height
        self._frames: Iterator | None = None
        self._start = start
        self._video: str | None = None
        self._still: np.ndarray | None = None
        spec = default if spec is None else spec
        if isinstance(spec, np.ndarray):
            self._still = self._fit(spec)
        elif isinstance(spec, (str, os.PathLike)) and Path(spec).exists():
            path = Path(spec)
            if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
                import cv2

                img = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if img is None:
                    raise VideoError(f"background {path}: not a readable image")
                self._still = self._fit(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            else:
                self._video = str(path)
        else:
            color = parse_color(spec)
            self._still = np.broadcast_to(color, (height, width, 3))

    def _fit(self, rgb: np.ndarray) -> np.ndarray:
        out = fit_cover(rgb, self.width, self.height)
        return out.astype(np.float32) / 255.0 if out.dtype == np.uint8 else out.astype(np.float32)

    def next(self) -> np.ndarray:
        """The backdrop for the next output frame."""
        if self._still is not None:
            return self._still
        from video.reader import read_frames

        frame = next(self._frames, None) if self._frames is not None else None
        if frame is None:
            self._frames = read_frames(self._video, self._loop_start())
            frame = next(self._frames)
        return self._fit(frame.rgb)

    def _loop_start(self) -> int:
        """Where the video starts playing: `start` modulo its length the first time, then 0."""
        start, self._start = self._start, 0
        if start == 0:
            return 0
        from video.probe import probe

        return start % max(1, probe(self._video).num_frames)

    def close(self) -> None:
        """Stop a background video's decoder."""
        if self._frames is not None:
            self._frames.close()
            self._frames = None
