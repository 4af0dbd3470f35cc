"""Matting metrics on hand cases."""
import numpy as np
import pytest

from tdm import metrics


def _matte(h=20, w=24):
    g = np.zeros((h, w))
    g[5:15, 6:18] = 1.0
    g[4, 6:18] = 0.5
    return g


def test_identical_maps_score_zero():
    g = _matte()
    assert [f(g, g) for f in (metrics.sad, metrics.mse, metrics.grad, metrics.conn)] == [0.0] * 4
    video = np.stack([np.roll(g, t, axis=1) for t in range(3)])
    assert metrics.dtssd(video, video) == 0.0
    assert metrics.messddt(video, video) == 0.0


def test_constant_offset():
    g = np.full((10, 20), 0.25)
    p = g + 0.1
    assert metrics.sad(p, g) == pytest.approx(0.1 * 200 / 1000)
    assert metrics.mse(p, g) == pytest.approx(0.01)


def test_grad_is_invariant_to_offset_and_uses_a_9x9_filter():
    g = _matte()
    assert metrics.grad(g * 0.5 + 0.2, g) == pytest.approx(0.0, abs=1e-12)  # min-max normalised
    fx, fy = metrics._gauss_gradient_filters(1.4)
    assert fx.shape == (9, 9) and np.allclose(fx, -fx[:, ::-1]) and np.allclose(fy, fx.T)
    assert np.sqrt((fx**2).sum()) == pytest.approx(1.0)
    assert metrics.grad(np.zeros_like(g), g) > 0


def test_conn_hand_cases():
    # pixel 3: largest component at every threshold is {0,1}; pixel 3 (g=1, p=0.5) is
    # cut off from t=0.1, so l=0: phi_g = 1 - 1 = 0, phi_p = 1 - 0.5 -> 0.5 / 1000
    g = np.array([[1.0, 1.0, 0.0, 1.0]])
    p = np.array([[1.0, 1.0, 0.0, 0.5]])
    assert metrics.conn(p, g) == pytest.approx(0.0005)
    # pixel 1 stays connected up to t=0.3 and is lost at 0.4 -> l=0.3:
    # d_p = 0.05 < 0.15 -> phi_p = 1 ; d_g = 0.7 -> phi_g = 0.3 -> 0.7 / 1000
    assert metrics.conn(np.array([[1.0, 0.35]]), np.array([[1.0, 1.0]])) == pytest.approx(0.0007)


def test_dtssd_hand_value():
    g = np.stack([_matte()] * 3)
    offsets = np.array([0.0, 0.01, 0.03])[:, None, None]
    # frame differences 0.01 and 0.02 everywhere -> mean(0.01, 0.02) * 100
    assert metrics.dtssd(g + offsets, g) == pytest.approx(1.5)
    assert metrics.dtssd(g + 0.2, g) == pytest.approx(0.0)


def test_messddt_static_scene_hand_value():
    g = np.zeros((2, 8, 8))
    p = np.stack([np.full((8, 8), 0.1), np.full((8, 8), 0.3)])
    assert metrics.messddt(p, g) == pytest.approx(abs(0.01 - 0.09) * 64)


def test_messddt_follows_motion():
    # an error that moves with the object is temporally coherent once warped by flow
    rng = np.random.default_rng(0)
    tex = rng.random((64, 64))
    frames = np.stack([np.roll(tex, 2 * t, axis=1) for t in range(3)])
    err = np.stack([np.roll((tex > 0.5) * 0.1, 2 * t, axis=1) for t in range(3)])
    assert metrics.messddt(frames + err, frames) < 0.5 * metrics.messddt(frames + err[::-1], frames)


def test_shape_checks():
    with pytest.raises(ValueError):
        metrics.sad(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError):
        metrics.dtssd(np.zeros((1, 3, 3)), np.zeros((1, 3, 3)))


def test_iou_thresholds_both_mattes_at_half():
    pred = np.array([[0.9, 0.6], [0.4, 0.0]])
    gt = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert metrics.iou(pred, gt) == pytest.approx(1 / 3)  # {(0,0)} of {(0,0),(0,1),(1,0)}
    assert metrics.iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
