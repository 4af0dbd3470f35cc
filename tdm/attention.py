"""Attention processors of the teacher and student U-Nets.

``TDMAttnProcessor`` replaces diffusers' processor on every attention layer. It is an
``nn.Module`` so that the student's K/V downsampling convolution (paper sec. 3.3:
``K = W_K phi(f), V = W_V phi(f)``, phi a kxk stride-k conv) is part of the U-Net's
state dict. While an ``AttentionRecord`` is attached (``capture_attention``) it records,
head-averaged and grouped by the latent size (h, w) of the layer:

* self-attention: ``A_SA @ alpha`` as (B, N, 1), computed as attention with the alpha
  tokens as the value, so no (N x N) map is built (alpha is resized bilinearly to
  (h, w), then average-pooled by k where K/V are downsampled);
* cross-attention: the maps ``softmax(Q K^T / sqrt(d))`` as (B, N, L).

``NoSelfAttention`` stands in for a removed self-attention layer: it has no weights
and returns zeros, so the transformer block's residual passes the input through.
"""
from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterator

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention
from torch import nn

Resolution = tuple[int, int]


@dataclass
class AttentionRecord:
    """Maps captured during one U-Net forward.

    ``alpha`` (B, 1, H, W) in [0, 1] is the matte to propagate through self-attention
    (None: self-attention is not recorded).
    """

    alpha: torch.Tensor | None = None
    self_alpha: dict[Resolution, list[torch.Tensor]] = field(default_factory=lambda: defaultdict(list))
    cross: dict[Resolution, list[torch.Tensor]] = field(default_factory=lambda: defaultdict(list))

    def alpha_tokens(self, hw: Resolution, k: int) -> torch.Tensor:
        """alpha resized to (h, w), average-pooled by k, as tokens (B, N/k^2, 1)."""
        alpha = F.interpolate(self.alpha, size=hw, mode="bilinear", align_corners=False)
        if k > 1:
            alpha = F.avg_pool2d(alpha, k)
        return alpha.flatten(2).transpose(1, 2)

    def self_attention_alpha(self) -> dict[Resolution, torch.Tensor]:
        """Per resolution, ``A_SA @ alpha`` averaged over layers: {(h, w): (B, N, 1)}."""
        return {hw: torch.stack(v).mean(0) for hw, v in self.self_alpha.items()}

    def cross_attention(self) -> dict[Resolution, torch.Tensor]:
        """Per resolution, cross-attention maps averaged over layers: {(h, w): (B, N, L)}."""
        return {hw: torch.stack(v).mean(0) for hw, v in self.cross.items()}


class NoSelfAttention(nn.Module):
    """A removed self-attention layer: no parameters, output (B, N, C) of zeros."""

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return torch.zeros_like(hidden_states)


class TDMAttnProcessor(nn.Module):
    """SDPA attention with optional K/V downsampling and map capture.

    ``channels`` and ``k`` set the learnable kxk stride-k conv applied to the (B, C, h, w)
    feature before ``to_k`` / ``to_v`` (k=1: none); ``mode`` "dense" (C*C*k*k + C
    parameters) or "depthwise" (C*k*k + C). ``hw`` is set before each call by a
    forward pre-hook on the enclosing Transformer2DModel.
    """

    def __init__(self, channels: int = 0, k: int = 1, mode: str = "dense"):
        super().__init__()
        if mode not in ("dense", "depthwise"):
            raise ValueError(f"kv_downsample_mode must be 'dense' or 'depthwise', got {mode!r}")
        self.k = k
        self.kv_downsample = (
            nn.Conv2d(channels, channels, k, stride=k, groups=channels if mode == "depthwise" else 1)
            if k > 1 else None
        )
        self.hw: Resolution | None = None
        self.record: AttentionRecord | None = None

    def forward(self, attn: Attention, hidden_states: torch.Tensor,
                encoder_hidden_states: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                **kwargs) -> torch.Tensor:
        """hidden_states (B, N, C), encoder_hidden_states (B, L, D) or None -> (B, N, C)."""
        b, n, c = hidden_states.shape
        is_cross = encoder_hidden_states is not None
        context = encoder_hidden_states if is_cross else hidden_states
        if not is_cross and self.kv_downsample is not None:
            h, w = self.hw
            grid = context.transpose(1, 2).reshape(b, c, h, w)
            context = self.kv_downsample(grid).flatten(2).transpose(1, 2)
        heads = attn.heads
        q = attn.to_q(hidden_states).view(b, n, heads, -1).transpose(1, 2)
        key = attn.to_k(context).view(b, context.shape[1], heads, -1).transpose(1, 2)
        value = attn.to_v(context).view(b, context.shape[1], heads, -1).transpose(1, 2)
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, context.shape[1], b)
            attention_mask = attention_mask.view(b, heads, -1, attention_mask.shape[-1])
        out = F.scaled_dot_product_attention(q, key, value, attn_mask=attention_mask)
        if self.record is not None:
            self._capture(q, key, is_cross, attention_mask)
        out = out.transpose(1, 2).reshape(b, n, -1).to(q.dtype)
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + hidden_states
        return out / attn.rescale_output_factor

    def _capture(self, q: torch.Tensor, key: torch.Tensor, is_cross: bool,
                 attention_mask: torch.Tensor | None) -> None:
        """Record head-averaged maps from q (B, h, N, d) and key (B, h, M, d)."""
        record = self.record
        if is_cross:
            logits = (q @ key.transpose(-1, -2)) * q.shape[-1] ** -0.5
            if attention_mask is not None:
                logits = logits + attention_mask
            record.cross[self.hw].append(logits.softmax(-1).mean(1))
        elif record.alpha is not None:
            alpha = record.alpha_tokens(self.hw, self.k).to(q.dtype)  # (B, M, 1)
            alpha = alpha.unsqueeze(1).expand(-1, q.shape[1], -1, -1)
            propagated = F.scaled_dot_product_attention(q, key, alpha, attn_mask=attention_mask)
            record.self_alpha[self.hw].append(propagated.mean(1))


def _record_spatial_size(processors: list[TDMAttnProcessor]):
    """Forward pre-hook for a Transformer2DModel: store its input's (h, w) on its processors."""

    def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
        hidden_states = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        hw = tuple(hidden_states.shape[-2:])
        for processor in processors:
            processor.hw = hw

    return hook


def install_spatial_hooks(unet: nn.Module) -> None:
    """Give every TDMAttnProcessor of ``unet`` the spatial size of its layer's input."""
    from diffusers.models.transformers.transformer_2d import Transformer2DModel

    for module in unet.modules():
        if isinstance(module, Transformer2DModel):
            processors = [m for m in module.modules() if isinstance(m, TDMAttnProcessor)]
            module.register_forward_pre_hook(_record_spatial_size(processors), with_kwargs=True)


@contextlib.contextmanager
def capture_attention(unet: nn.Module, alpha: torch.Tensor | None = None) -> Iterator[AttentionRecord]:
    """Within the block, forwards of ``unet`` record attention into the yielded record.

    alpha: (B, 1, H, W) matte for ``A_SA @ alpha`` (any H, W; resized per layer).
    """
    record = AttentionRecord(alpha=alpha)
    processors = [m for m in unet.modules() if isinstance(m, TDMAttnProcessor)]
    for processor in processors:
        processor.record = record
    try:
        yield record
    finally:
        for processor in processors:
            processor.record = None
