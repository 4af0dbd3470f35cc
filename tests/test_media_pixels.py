"""media.pixels.to_uint8: the one image -> uint8 conversion (rounding, clipping, scales)."""
import numpy as np

from media.pixels import to_uint8


def test_float_in_0_1_rounds_to_nearest_and_clips():
    x = np.array([[-0.2, 0.0, 0.5, 1.0, 1.3]], dtype=np.float32)
    out = to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == x.shape
    assert out.tolist() == [[0, 0, 128, 255, 255]]


def test_ties_round_to_even_like_np_rint():
    assert to_uint8(np.array([0.5, 1.5, 2.5, 253.5]), high=255.0).tolist() == [0, 2, 2, 254]


def test_minus_one_to_one():
    x = np.array([-1.5, -1.0, 0.0, 1.0, 2.0], dtype=np.float32)
    assert to_uint8(x, low=-1.0).tolist() == [0, 0, 128, 255, 255]


def test_sixteen_bit_frames():
    x = np.array([0, 128, 129, 257, 32896, 65535], dtype=np.uint16)
    assert to_uint8(x, high=65535.0).tolist() == [0, 0, 1, 1, 128, 255]


def test_uint8_at_full_scale_255_is_kept_and_made_contiguous():
    x = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)[:, ::-1]
    out = to_uint8(x, high=255.0)
    assert out.flags.c_contiguous and np.array_equal(out, x)
