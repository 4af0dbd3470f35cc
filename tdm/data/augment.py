"""Training augmentation: the composition recipe of Li et al. 2022 (GFM / RSSN), as used by
the paper (appendix 6.2.3) for RefMatte, plus the crop/resize to the training size.

Every function takes a ``numpy.random.Generator`` so that samples are deterministic given
a seed. Images are (H,W,3) uint8 RGB, alphas (H,W) float32 in [0,1].
"""
from __future__ import annotations

import re

import cv2
import numpy as np

Size = tuple[int, int]  # (height, width)


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


def random_crop(
    image: np.ndarray, alpha: np.ndarray, size: Size, rng: np.random.Generator,
    scale: tuple[float, float] = (0.5, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Crop a window of the target aspect covering ``scale`` of the largest such window,
    centred (as in GFM) on a random pixel of the transition/foreground region when any."""
    H, W = alpha.shape
    th, tw = size
    full = min(H / th, W / tw)
    s = full * rng.uniform(*scale)
    ch, cw = max(1, min(H, round(th * s))), max(1, min(W, round(tw * s)))
    ys, xs = np.nonzero(alpha > 0.01)
    if len(ys):
        k = rng.integers(len(ys))
        cy, cx = int(ys[k]), int(xs[k])
    else:
        cy, cx = int(rng.integers(H)), int(rng.integers(W))
    y0 = int(np.clip(cy - ch // 2 + rng.integers(-ch // 4, ch // 4 + 1), 0, H - ch))
    x0 = int(np.clip(cx - cw // 2 + rng.integers(-cw // 4, cw // 4 + 1), 0, W - cw))
    return image[y0:y0 + ch, x0:x0 + cw], alpha[y0:y0 + ch, x0:x0 + cw]


def color_jitter(image: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Random hue shift, saturation, brightness and contrast (HSV space)."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-8, 8) * strength) % 180
    hsv[..., 1] *= 1 + rng.uniform(-0.25, 0.25) * strength
    hsv[..., 2] *= 1 + rng.uniform(-0.2, 0.2) * strength
    out = cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    contrast = 1 + rng.uniform(-0.2, 0.2) * strength
    return ((out - out.mean()) * contrast + out.mean()).clip(0, 255).astype(np.uint8)


def degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RSSN's shared degradations so composites look like photographs: Gaussian noise
    (p=0.5) then JPEG re-compression at quality 60-95 (p=0.5)."""
    out = image
    if rng.random() < 0.5:
        noise = rng.normal(0.0, rng.uniform(1.0, 6.0), out.shape)
        out = (out.astype(np.float32) + noise).clip(0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return out


def compose(
    fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Composite fg over bg (resized to fg's size) with RSSN's background treatment:
    colour jitter of the foreground, bokeh-like blur of the background (p=0.5)."""
    h, w = alpha.shape
    back = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if rng.random() < 0.5:
        k = int(rng.integers(1, 8)) * 2 + 1
        back = cv2.GaussianBlur(back, (k, k), 0)
    front = color_jitter(fg, rng, 0.5).astype(np.float32)
    a = alpha[..., None]
    return (front * a + back * (1 - a)).round().clip(0, 255).astype(np.uint8)


def flip_text(text: str) -> str:
    """Swap left/right words in a referring expression (for a horizontal flip)."""
    swap = {"left": "right", "right": "left", "leftmost": "rightmost", "rightmost": "leftmost"}

    def repl(m: re.Match) -> str:
        word = swap[m.group(0).lower()]
        return word.capitalize() if m.group(0)[0].isupper() else word

    return re.sub(r"\b(left|right|leftmost|rightmost)\b", repl, text, flags=re.IGNORECASE)


def augment(
    image: np.ndarray, alpha: np.ndarray, text: str, size: int | tuple[int, int],
    rng: np.random.Generator | None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Training view of (image, alpha, text) at ``size``: random crop, resize, horizontal
    flip (p=0.5, left/right swapped in the text), colour jitter, noise/JPEG.
    With ``rng=None``: a plain resize (evaluation)."""
    out_size = as_size(size)
    if rng is None:
        image, alpha = resize_pair(image, alpha, out_size)
        return image, alpha, text
    image, alpha = random_crop(image, alpha, out_size, rng)
    image, alpha = resize_pair(image, alpha, out_size)
    if rng.random() < 0.5:
        image, alpha, text = image[:, ::-1].copy(), alpha[:, ::-1].copy(), flip_text(text)
    return degrade(color_jitter(image, rng), rng), alpha, text
