"""Training views of the samples.

The paper (appendix 6.2.3) resizes every image to 512x512 and applies the augmentation of
Li et al. 2022 (GFM: the RSSN composition route and its crop/flip transform) only to the
RefMatte composites. So here:

- real photographs (RefCOCO, P3M-10K, AM-2K, RM-1K, video instance sets) and evaluation:
  a plain resize (``augment`` without ``foreground``, or with ``rng=None``);
- composites (RefMatte, VideoMatte240K over backgrounds): RSSN's sharpness step (the
  background blurred with a 20-60 px box at 1080 px scale, p=0.5) and noise step
  (Gaussian, sigma 10, p=0.5), then GFM's flip (p=0.5, left/right swapped in the text)
  and crop, kept only where it cannot change what the text refers to: never when the text
  has a position word, and only windows that hold all of the foreground (no instance is
  cut). RSSN's denoising step needs BM3D-denoised copies that the datasets do not ship,
  so it is left out.

``degrade`` (noise and JPEG) belongs to our synthetic generator, not to the paper. Every
function takes a ``numpy.random.Generator`` so that samples are deterministic given a
seed. Images are (H,W,3) uint8 RGB, alphas (H,W) float32 in [0,1].
"""
from __future__ import annotations

import re

import cv2
import numpy as np

Size = tuple[int, int]  # (height, width)
BLUR_KERNELS = (20, 30, 40, 50, 60)  # GFM's box sizes, for images about 1080 px on the short side
NOISE_SIGMA = 10.0
# words whose meaning depends on the frame: a crop could make them false
POSITION_WORDS = re.compile(r"\b(left|right|leftmost|rightmost|middle|center|centre|central|top|bottom|"
                            r"topmost|bottommost|upper|lower|corner|side|edge)\b", re.IGNORECASE)


def as_size(size: int | tuple[int, int]) -> Size:
    """512 -> (512, 512); (h, w) stays."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def resize_pair(image: np.ndarray, alpha: np.ndarray, size: Size) -> tuple[np.ndarray, np.ndarray]:
    """Resize image and alpha to ``size`` (area when shrinking, linear when growing)."""
    h, w = size
    shrink = image.shape[0] * image.shape[1] > h * w
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return (
        cv2.resize(image, (w, h), interpolation=interp),
        cv2.resize(alpha, (w, h), interpolation=interp).clip(0.0, 1.0),
    )


def flip_text(text: str) -> str:
    """Swap left/right words in a referring expression (for a horizontal flip)."""
    swap = {"left": "right", "right": "left", "leftmost": "rightmost", "rightmost": "leftmost"}

    def repl(m: re.Match) -> str:
        word = swap[m.group(0).lower()]
        return word.capitalize() if m.group(0)[0].isupper() else word

    return re.sub(r"\b(left|right|leftmost|rightmost)\b", repl, text, flags=re.IGNORECASE)


def safe_crop_window(foreground: np.ndarray, size: Size, rng: np.random.Generator
                     ) -> tuple[int, int, int, int] | None:
    """(y0, x0, h, w) of a random window of the target aspect that holds every pixel of
    ``foreground`` > 0.01, between the smallest such window and the largest that fits;
    None when no smaller window than the whole image fits (or nothing is foreground)."""
    H, W = foreground.shape
    ys, xs = np.nonzero(foreground > 0.01)
    if not len(ys):
        return None
    th, tw = size
    full = min(H / th, W / tw)
    need = max((ys[-1] - ys[0] + 1) / th, (xs.max() - xs.min() + 1) / tw)
    if need >= full:
        return None
    s = rng.uniform(need, full)
    ch, cw = min(H, int(np.ceil(th * s))), min(W, int(np.ceil(tw * s)))
    y_lo, y_hi = max(0, ys[-1] + 1 - ch), min(ys[0], H - ch)
    x_lo, x_hi = max(0, xs.max() + 1 - cw), min(xs.min(), W - cw)
    if y_hi < y_lo or x_hi < x_lo:
        return None
    return int(rng.integers(y_lo, y_hi + 1)), int(rng.integers(x_lo, x_hi + 1)), ch, cw


def _box_size(shape: tuple[int, ...], rng: np.random.Generator) -> int:
    """One of GFM's blur boxes, scaled from 1080 px to this image's short side."""
    return max(3, int(BLUR_KERNELS[int(rng.integers(len(BLUR_KERNELS)))] * min(shape[:2]) / 1080))


def _noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(image.shape, dtype=np.float32) * NOISE_SIGMA
    return (image.astype(np.float32) + noise).clip(0, 255).astype(np.uint8)


def rssn(image: np.ndarray, foreground: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RSSN on a finished composite whose foreground (every instance) is ``foreground``
    (H,W): background blur (normalised, so no foreground colour bleeds in) p=0.5, then
    Gaussian noise p=0.5."""
    out = image
    if rng.random() < 0.5:
        k = _box_size(image.shape, rng)
        a = foreground.astype(np.float32)[..., None]
        back = 1.0 - a
        num = cv2.blur(image.astype(np.float32) * back, (k, k))
        den = cv2.blur(back[..., 0], (k, k))[..., None]
        blurred = np.where(den > 1e-3, num / np.maximum(den, 1e-3), image)
        out = (image * a + blurred * back).round().clip(0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        out = _noise(out, rng)
    return out


def compose(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RSSN composition of fg over bg (resized to fg's size): the background box-blurred
    with p=0.5, then Gaussian noise on the composite with p=0.5."""
    h, w = alpha.shape
    back = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        k = _box_size(back.shape, rng)
        back = cv2.blur(back, (k, k))
    a = alpha[..., None]
    out = (fg.astype(np.float32) * a + back.astype(np.float32) * (1 - a)).round().clip(0, 255).astype(np.uint8)
    return _noise(out, rng) if rng.random() < 0.5 else out


def flip_and_crop(image: np.ndarray, alpha: np.ndarray, text: str, size: Size, rng: np.random.Generator,
                  foreground: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """GFM's transform made safe for referring texts: horizontal flip p=0.5 (left/right
    swapped in the text), a crop (p=0.5) that keeps all of ``foreground`` and only for
    texts without position words, then the resize to ``size``."""
    if rng.random() < 0.5:
        image, alpha, foreground = image[:, ::-1], alpha[:, ::-1], foreground[:, ::-1]
        text = flip_text(text)
    if rng.random() < 0.5 and not POSITION_WORDS.search(text):
        win = safe_crop_window(foreground, size, rng)
        if win is not None:
            y0, x0, ch, cw = win
            image, alpha = image[y0:y0 + ch, x0:x0 + cw], alpha[y0:y0 + ch, x0:x0 + cw]
    image, alpha = resize_pair(np.ascontiguousarray(image), np.ascontiguousarray(alpha), size)
    return image, alpha, text


def augment(
    image: np.ndarray, alpha: np.ndarray, text: str, size: int | tuple[int, int],
    rng: np.random.Generator | None, foreground: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Training view of (image, alpha, text) at ``size``. A composite (``foreground``:
    the (H,W) alpha of all its instances) gets RSSN and the safe flip/crop; anything else,
    and everything with ``rng=None``, a plain resize (the paper's rule)."""
    out_size = as_size(size)
    if rng is None or foreground is None:
        image, alpha = resize_pair(image, alpha, out_size)
        return image, alpha, text
    return flip_and_crop(rssn(image, foreground, rng), alpha, text, out_size, rng, foreground)


def degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The synthetic generator's photographic wear (ours, not the paper's): Gaussian
    noise (p=0.5, sigma 1-6) then JPEG re-compression at quality 60-95 (p=0.5)."""
    out = image
    if rng.random() < 0.5:
        noise = rng.standard_normal(out.shape, dtype=np.float32) * np.float32(rng.uniform(1.0, 6.0))
        out = (out.astype(np.float32) + noise).clip(0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        bgr = cv2.cvtColor(out, cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])
        out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out
