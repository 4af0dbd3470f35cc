"""Matting metrics on alphas in [0,1] (mmeval / DIM definitions, whole image as region).

Image metrics take (H,W) arrays: ``sad``, ``mse``, ``grad``, ``conn``, and ``iou`` of the
mattes thresholded at 0.5 (how well the named object is found); ``swap_choice`` whether
two texts naming two instances of one image each give their own instance more matte.
Video metrics take (T,H,W) arrays: ``dtssd`` (RVM form), ``messddt`` (flow-warped);
``flicker`` needs no ground truth, only the frames (T,H,W,3) the alphas belong to.
Scales: SAD, Grad, Conn are divided by 1000; MSE is the plain mean (papers print x1e3);
dtSSD is x100; MESSDdt is the per-pixel sum of one frame pair, averaged over pairs.
"""
from __future__ import annotations

import cv2
import numpy as np

from tdm import flow


def _pair(pred: np.ndarray, gt: np.ndarray, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 arrays of the same shape with ``ndim`` dimensions."""
    p, g = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if p.shape != g.shape or p.ndim != ndim:
        raise ValueError(f"prediction {p.shape} and ground truth {g.shape} must share one {ndim}-d shape")
    return p, g


def iou(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> float:
    """IoU of ``pred > threshold`` with ``gt > threshold`` (H,W); 1.0 when both are empty."""
    p, g = np.asarray(pred) > threshold, np.asarray(gt) > threshold
    union = np.logical_or(p, g).sum()
    return float(np.logical_and(p, g).sum() / union) if union else 1.0


def sad(pred: np.ndarray, gt: np.ndarray) -> float:
    """Sum of absolute differences / 1000."""
    p, g = _pair(pred, gt, 2)
    return float(np.abs(p - g).sum() / 1000.0)


def inside(pred: np.ndarray, alpha: np.ndarray) -> float:
    """Mean of ``pred`` inside an instance, weighted by its alpha (H,W)."""
    return float((pred * alpha).sum() / alpha.sum())


def swap_choice(pred_a: np.ndarray, pred_b: np.ndarray, alpha_a: np.ndarray, alpha_b: np.ndarray) -> float:
    """1.0 when the matte for instance a's text is higher inside a than the matte for b's
    text is, and the other way round for b; else 0.0 (a model that ignores the text scores
    0, one whose text moves the matte at random 1/4). All (H,W)."""
    return float(inside(pred_a, alpha_a) > inside(pred_b, alpha_a)
                 and inside(pred_b, alpha_b) > inside(pred_a, alpha_b))


def mse(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean squared error."""
    p, g = _pair(pred, gt, 2)
    return float(((p - g) ** 2).mean())


def _gauss_gradient_filters(sigma: float = 1.4, epsilon: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """Derivative-of-Gaussian filters (x, y), unit L2 norm; 9x9 for sigma 1.4."""
    half = int(np.ceil(sigma * np.sqrt(-2.0 * np.log(np.sqrt(2.0 * np.pi) * sigma * epsilon))))
    r = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-(r**2) / (2 * sigma**2)) / (sigma * np.sqrt(2 * np.pi))
    dgauss = -r * gauss / sigma**2
    fx = gauss[:, None] * dgauss[None, :]
    fx /= np.sqrt((fx**2).sum())
    return fx, fx.T.copy()


def _gradient_magnitude(alpha: np.ndarray, sigma: float) -> np.ndarray:
    """|grad| of a min-max normalised map with replicate borders."""
    normed = np.zeros_like(alpha)
    cv2.normalize(alpha, normed, 1.0, 0.0, cv2.NORM_MINMAX)
    fx, fy = _gauss_gradient_filters(sigma)
    gx = cv2.filter2D(normed, -1, fx, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.filter2D(normed, -1, fy, borderType=cv2.BORDER_REPLICATE)
    return np.sqrt(gx**2 + gy**2)


def grad(pred: np.ndarray, gt: np.ndarray, sigma: float = 1.4) -> float:
    """Gradient error: sum (|grad p| - |grad g|)^2 / 1000."""
    p, g = _pair(pred, gt, 2)
    return float(((_gradient_magnitude(p, sigma) - _gradient_magnitude(g, sigma)) ** 2).sum() / 1000.0)


def conn(pred: np.ndarray, gt: np.ndarray, step: float = 0.1) -> float:
    """Connectivity error: sum |phi(p) - phi(g)| / 1000 with thresholds step..1."""
    p, g = _pair(pred, gt, 2)
    thresholds = np.arange(0, 1 + step, step)
    round_down = -np.ones_like(g)
    for i in range(1, len(thresholds)):
        both = ((g >= thresholds[i]) & (p >= thresholds[i])).astype(np.uint8)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(both, connectivity=4)
        omega = np.zeros_like(g)
        sizes = stats[1:, cv2.CC_STAT_AREA]
        if len(sizes):
            omega[labels == np.argmax(sizes) + 1] = 1
        lost = (round_down == -1) & (omega == 0)
        round_down[lost] = thresholds[i - 1]
    round_down[round_down == -1] = 1
    dp, dg = p - round_down, g - round_down
    phi_p = 1 - dp * (dp >= 0.15)
    phi_g = 1 - dg * (dg >= 0.15)
    return float(np.abs(phi_p - phi_g).sum() / 1000.0)


def dtssd(preds: np.ndarray, gts: np.ndarray) -> float:
    """Temporal coherence (RVM): mean over t>=1 of sqrt(mean((dp/dt - dg/dt)^2)) x 100."""
    p, g = _pair(preds, gts, 3)
    if p.shape[0] < 2:
        raise ValueError("dtSSD needs at least two frames")
    diff = np.diff(p, axis=0) - np.diff(g, axis=0)
    return float(np.sqrt((diff**2).mean(axis=(1, 2))).mean() * 100.0)


def _flow(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Farneback flow (H,W,2) (dx, dy) from prev to next, both alphas in [0,1]."""
    a, b = (np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8) for x in (prev, nxt))
    return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def messddt(preds: np.ndarray, gts: np.ndarray) -> float:
    """MESSDdt: mean over t of sum |(p_t-g_t)^2 - (p~_{t+1}-g~_{t+1})^2|.

    ~ is frame t+1 sampled at (x,y) + flow(t->t+1) (nearest, clamped), the flow computed
    by Farneback on the ground-truth alphas.
    """
    p, g = _pair(preds, gts, 3)
    if p.shape[0] < 2:
        raise ValueError("MESSDdt needs at least two frames")
    _, h, w = g.shape
    yy, xx = np.mgrid[0:h, 0:w]
    errors = []
    for t in range(p.shape[0] - 1):
        flow = _flow(g[t], g[t + 1])
        xs = np.clip(np.rint(xx + flow[..., 0]), 0, w - 1).astype(np.int64)
        ys = np.clip(np.rint(yy + flow[..., 1]), 0, h - 1).astype(np.int64)
        now = (p[t] - g[t]) ** 2
        warped = (p[t + 1][ys, xs] - g[t + 1][ys, xs]) ** 2
        errors.append(np.abs(now - warped).sum())
    return float(np.mean(errors))


OBJECT_LEVEL = 0.1  # flicker: a pixel is inside the object where either alpha exceeds this


def flicker(alphas: np.ndarray, frames: np.ndarray) -> float:
    """Ground-truth-free flicker: mean over t>=1 of mean |a_t - warp(a_{t-1})| inside the
    object, x100. warp follows the frames' DIS flow (``tdm.flow``); inside the object:
    a_t or the warped a_{t-1} above ``OBJECT_LEVEL``, and the point was inside frame t-1.
    Frames without any object pixel are left out (0.0 if no frame has one).
    alphas (T,H,W) in [0,1]; frames (T,H,W,3) uint8 RGB."""
    a = np.asarray(alphas, dtype=np.float32)
    if a.ndim != 3 or a.shape[0] < 2 or frames.shape[:3] != a.shape:
        raise ValueError(f"flicker needs (T>=2,H,W) alphas and (T,H,W,3) frames, got {a.shape} and {frames.shape}")
    size = flow.flow_size(*a.shape[1:])
    estimator, means = flow.dis(), []
    previous = flow.grey(frames[0], size)
    for t in range(1, a.shape[0]):
        current = flow.grey(frames[t], size)
        maps = flow.sample_maps(flow.grow_flow(flow.backward_flow(estimator, previous, current), a.shape[1:]))
        warped = flow.warp(a[t - 1], maps)
        region = ((a[t] > OBJECT_LEVEL) | (warped > OBJECT_LEVEL)) & flow.inside(maps)
        if region.any():
            means.append(float(np.abs(a[t] - warped)[region].mean()))
        previous = current
    return float(np.mean(means) * 100.0) if means else 0.0
