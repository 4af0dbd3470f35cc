"""Training losses of the paper, equations (2)-(9), and the decoder's L1 + Laplacian loss.

Reductions (documented choices where the paper leaves them open):
- ``semantic_guidance`` (eq. 3): mean over all elements of each layer's masked squared
  difference, summed over the distillation layers.
- ``self_attention_transparency`` (eq. 5): mean squared difference per resolution, then the
  mean over resolutions.
- ``cross_attention_transparency`` (eq. 6): *sum* of squared differences per resolution
  (appendix 6.3: "sum reduction", hence the small lambda_CTM = 0.1), over the batch too,
  then the mean over resolutions. The sum runs over one micro-batch: the paper's 16
  samples per GPU are ``--batch-size 32 --num-workers 2``; with ``--grad-accum`` the
  term shrinks with the micro-batch.
- ``alpha_l1`` / ``confidence_bce`` (eqs. 7, 8): means over elements.
- ``reconstruction`` (not in the paper, which takes SD-1.5's VAE pretrained): L1 + KL as
  the latent-diffusion autoencoders trained it, without their perceptual and GAN terms.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F


def class_balance_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(num_classes,) weights 1/sqrt(frequency) of each class among ``labels`` (any shape,
    long); a class absent from ``labels`` gets the weight of frequency 1e-3."""
    counts = torch.bincount(labels.flatten(), minlength=num_classes).float()
    return (counts / counts.sum() + 1e-3).rsqrt()


def semantic_ce(logits: torch.Tensor, labels: torch.Tensor, balance: bool = False) -> torch.Tensor:
    """Eq. (2): cross-entropy of region logits (B,3,h,w) against labels (B,h,w) long.

    Labels of another size are resized (nearest) to the logits' size. With ``balance``
    each class is weighted by :func:`class_balance_weights` of the batch (not in the
    paper: small objects leave few foreground cells, and plain CE then learns
    "background everywhere" first).
    """
    if labels.shape[-2:] != logits.shape[-2:]:
        labels = F.interpolate(labels[:, None].float(), size=logits.shape[-2:], mode="nearest")[:, 0]
    labels = labels.long()
    weight = class_balance_weights(labels, logits.shape[1]).to(logits) if balance else None
    return F.cross_entropy(logits, labels, weight=weight)


def mask_at(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B,1,H,W) {0,1} mask at ``size``: min-pooled when shrinking, nearest otherwise."""
    if size[0] <= mask.shape[-2] and size[1] <= mask.shape[-1]:
        return 1 - F.adaptive_max_pool2d(1 - mask, size)
    return F.interpolate(mask, size=size, mode="nearest")


def semantic_guidance(
    student_proj: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor], mask: torch.Tensor
) -> torch.Tensor:
    """Eq. (3): sum over layers of mean((M * (F_T - Phi(F_S)))^2).

    student_proj, teacher: lists of (B,C,h,w) per distillation layer (same shapes pairwise);
    mask: (B,1,H,W) in {0,1} (1 on foreground/background), brought to each layer by the
    rule the region labels use (``tdm.data.regions.pool_regions``): a smaller cell is 1
    only when every pixel in it is (a min-pool); a larger grid is sampled nearest.
    The teacher features are treated as targets (no gradient).
    """
    if len(student_proj) != len(teacher) or not student_proj:
        raise ValueError("semantic_guidance needs one teacher feature per student feature")
    total = student_proj[0].new_zeros(())
    for s, t in zip(student_proj, teacher):
        m = mask_at(mask.to(s.dtype), tuple(s.shape[-2:]))
        total = total + ((t.detach() - s) * m).pow(2).mean()
    return total


def _mean_over_resolutions(
    student: Mapping[int, torch.Tensor], teacher: Mapping[int, torch.Tensor], per_res
) -> torch.Tensor:
    """Apply ``per_res(s, t)`` to every resolution present in both dicts and average."""
    keys = [k for k in student if k in teacher]
    if not keys:
        raise ValueError("no resolution is shared by the student and teacher attention maps")
    return torch.stack([per_res(student[k], teacher[k].detach()) for k in keys]).mean()


def self_attention_transparency(
    student: Mapping[int, torch.Tensor], teacher: Mapping[int, torch.Tensor]
) -> torch.Tensor:
    """Eq. (5): ||A_T alpha - A_S alpha||^2 (mean) per resolution, averaged over resolutions.

    student, teacher: {resolution: (B,N,1)} products of the resolution-averaged
    self-attention map with the GT alpha downsampled to that resolution.
    """
    return _mean_over_resolutions(student, teacher, lambda s, t: (t - s).pow(2).mean())


def cross_attention_transparency(
    student: Mapping[int, torch.Tensor], teacher: Mapping[int, torch.Tensor]
) -> torch.Tensor:
    """Eq. (6): sum of (A_T - A_S)^2 over batch, queries and tokens per resolution
    (appendix 6.3's sum reduction), averaged over resolutions.

    student, teacher: {resolution: (B,N,L)} head- and layer-averaged cross-attention maps.
    """
    return _mean_over_resolutions(student, teacher, lambda s, t: (t - s).pow(2).sum())


def alpha_l1(alpha_lr: torch.Tensor, alpha_gt_lr: torch.Tensor) -> torch.Tensor:
    """Eq. (7): mean |alpha_lr - alpha_gt_lr|, both (B,1,h,w)."""
    return (alpha_lr - alpha_gt_lr).abs().mean()


def confidence_bce(confidence_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. (8): BCE with logits of R (B,1,h,w) against c_M = 1 - M (M (B,1,h,w) in {0,1})."""
    target = 1.0 - mask.to(confidence_logits.dtype)
    return F.binary_cross_entropy_with_logits(confidence_logits, target)


@dataclass(frozen=True)
class LossWeights:
    """The lambdas of eq. (9), paper values by default."""

    stm: float = 10.0
    ctm: float = 0.1
    sg: float = 0.5
    alpha: float = 10.0
    confidence: float = 1.0


def distillation_total(terms: Mapping[str, torch.Tensor], weights: LossWeights = LossWeights()) -> torch.Tensor:
    """Eq. (9): sum of weight * term over ``terms`` keyed by LossWeights field names.

    Missing terms are skipped (e.g. a student without attention capture); unknown keys raise.
    """
    known = LossWeights.__dataclass_fields__
    unknown = set(terms) - set(known)
    if unknown:
        raise KeyError(f"unknown loss terms: {sorted(unknown)}")
    return sum(getattr(weights, name) * value for name, value in terms.items())


def _binomial_kernel(channels: int, device, dtype) -> torch.Tensor:
    """5x5 binomial kernel [1,4,6,4,1]^T [1,4,6,4,1] / 256 as a depthwise weight (C,1,5,5)."""
    k1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=device, dtype=dtype)
    return (k1[:, None] * k1[None, :] / 256.0).expand(channels, 1, 5, 5).contiguous()


def _gauss(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depthwise 5x5 filter with reflect padding, (B,C,H,W) -> (B,C,H,W)."""
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, levels: int = 5) -> list[torch.Tensor]:
    """Band-pass pyramid of (B,C,H,W): level l is x_l - expand(reduce(x_l)), x_{l+1} = reduce(x_l).

    reduce = binomial blur then keep every second pixel; expand = zero insertion then the
    blur with the kernel x4, cropped to x_l's size.
    """
    kernel = _binomial_kernel(x.shape[1], x.device, x.dtype)
    pyramid = []
    current = x
    for _ in range(levels):
        down = _gauss(current, kernel)[..., ::2, ::2]
        up = torch.zeros(*down.shape[:2], down.shape[-2] * 2, down.shape[-1] * 2, device=x.device, dtype=x.dtype)
        up[..., ::2, ::2] = down
        up = _gauss(up, kernel * 4.0)[..., : current.shape[-2], : current.shape[-1]]
        pyramid.append(current - up)
        current = down
    return pyramid


def laplacian_loss(pred: torch.Tensor, gt: torch.Tensor, levels: int = 5) -> torch.Tensor:
    """sum_l 2^l * mean|L_l(pred) - L_l(gt)| / levels for alphas (B,1,H,W)."""
    total = pred.new_zeros(())
    for level, (p, g) in enumerate(zip(laplacian_pyramid(pred, levels), laplacian_pyramid(gt, levels))):
        total = total + (2**level) * (p - g).abs().mean()
    return total / levels


def matting_terms(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None
                  ) -> dict[str, torch.Tensor]:
    """The decoder's loss (sec. 3.4): mean L1 + Laplacian of alphas (B,1,H,W), and its
    terms; with a 0/1 ``mask`` (B,1,H,W), L1 averaged over it and the Laplacian of the
    masked alphas."""
    if mask is None:
        l1, lap = (pred - gt).abs().mean(), laplacian_loss(pred, gt)
    else:
        l1 = ((pred - gt).abs() * mask).sum() / mask.sum().clamp(min=1.0)
        lap = laplacian_loss(pred * mask, gt * mask)
    return {"loss": l1 + lap, "l1": l1, "laplacian": lap}


KL_WEIGHT = 1e-6  # the latent-diffusion autoencoders' KL weight (SD-1.5's VAE)


def reconstruction(vae: Any, images: torch.Tensor, posterior: Any) -> dict[str, torch.Tensor]:
    """What SD-1.5's VAE learnt before the paper takes it: images (B,3,H,W) in [-1,1], the
    encoder's ``posterior`` of them -> ``recon_l1`` (L1 of the decoded sample, [-1,1]),
    ``kl`` (mean over the batch, summed over latent cells), ``recon`` = L1 + KL_WEIGHT * KL
    and ``psnr`` (dB, images in [0,1], no gradient)."""
    decoded = vae.decode(posterior.sample()).sample.float()
    target = images.float()
    l1 = (decoded - target).abs().mean()
    kl = posterior.kl().float().mean()
    return {"recon": l1 + KL_WEIGHT * kl, "recon_l1": l1, "kl": kl.detach(), "psnr": psnr(decoded, target)}


@torch.no_grad()
def psnr(decoded: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) of images in [-1, 1] (decoded clamped to it), measured in [0, 1]."""
    mse = ((decoded.float().clamp(-1, 1) - target.float()) / 2).square().mean().clamp_min(1e-10)
    return -10.0 * torch.log10(mse)
