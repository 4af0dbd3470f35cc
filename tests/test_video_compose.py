"""video.compose.estimate_foreground: the in-place CPU path gives the paper's blur fusion."""
import cv2
import numpy as np
import pytest

from media.pixels import to_uint8
from video.compose import BLUR_RADII, blur_fusion, estimate_foreground


def blur_fusion_reference(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Forte & Pitie's two-pass blur fusion, written out plainly (F (H,W,3) float32)."""
    img = image.astype(np.float32) / 255.0
    a = alpha.astype(np.float32)[:, :, None]
    fg = bg = img
    for r in BLUR_RADII:
        k = (r | 1, r | 1)
        blur_a = cv2.blur(a[:, :, 0], k)[:, :, None]
        blur_f = cv2.blur(fg * a, k) / (blur_a + 1e-5)
        blur_b = cv2.blur(bg * (1.0 - a), k) / ((1.0 - blur_a) + 1e-5)
        fg = np.clip(blur_f + a * (img - a * blur_f - (1.0 - a) * blur_b), 0.0, 1.0)
        bg = blur_b
    return fg


def generated_frame(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured uint8 frame and a soft disc matte (quantised like the model's, to 1/65535)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    alpha = np.clip(1.2 - np.hypot(yy - height / 2, xx - width / 2) / (height / 2.5), 0, 1)
    return image, (np.rint(alpha * 65535) / 65535).astype(np.float32)


@pytest.mark.parametrize("size", [(270, 480), (20, 30)], ids=["270x480", "smaller-than-blur"])
def test_in_place_estimate_is_blur_fusion_within_one_level(size):
    image, alpha = generated_frame(*size)
    fast, ref = estimate_foreground(image, alpha), blur_fusion_reference(image, alpha)
    assert fast.dtype == np.float32 and fast.shape == image.shape
    diff = np.abs(to_uint8(fast).astype(int) - to_uint8(ref).astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    assert not np.array_equal(to_uint8(fast), image)  # it did estimate something


@pytest.mark.parametrize("centre", [(40, 60), (200, 440), (135, 240)], ids=["corner", "far-corner", "middle"])
def test_the_crop_around_the_matte_gives_the_whole_frame_estimate(centre):
    """F is computed only around the matte's bounding box: bit for bit the estimate of the
    whole frame, and 0 far from the matte (where the whole frame's estimate is 0 too)."""
    image, _ = generated_frame(270, 480)
    yy, xx = np.mgrid[0:270, 0:480]
    alpha = np.clip(1.5 - np.hypot(yy - centre[0], xx - centre[1]) / 25, 0, 1).astype(np.float32)
    whole = blur_fusion(image, alpha, BLUR_RADII)
    assert np.array_equal(estimate_foreground(image, alpha), whole)
    assert (whole == 0).all(axis=2).mean() > 0.3  # the crop left most of the frame out


def test_an_empty_matte_has_no_foreground():
    image, _ = generated_frame(64, 96)
    alpha = np.zeros((64, 96), np.float32)
    assert np.array_equal(estimate_foreground(image, alpha), blur_fusion(image, alpha, BLUR_RADII))
    assert not estimate_foreground(image, alpha).any()
