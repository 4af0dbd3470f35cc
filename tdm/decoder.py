"""Detail decoder (ViTMatte-style detail capture): 1/8 soft grounding + image -> full-res alpha."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

ALPHA_EPS = 1e-4  # keeps logit(alpha) finite for the residual form


def conv_bn_relu(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """Conv(kernel, stride, 'same' padding, no bias) + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class DetailDecoder(ModelMixin, ConfigMixin):
    """Detail encoder-decoder of section 3.4 (ViTMatte's detail capture).

    ConvStream: three Conv3x3/stride 2 + BN + ReLU on the 5-channel input
    (image, up(alpha_lr), sigmoid(up(R))) -> detail features at 1/2, 1/4, 1/8.
    The student's 1/8 features pass one Conv-BN-ReLU alignment (``align_channels``), then
    fusion blocks (bilinear up to the skip's size, concat the skip, Conv3x3+BN+ReLU) take
    them to full resolution; head Conv3x3 -> BN -> ReLU -> Conv1x1 -> sigmoid.

    ``fusion_channels`` with four widths (default, ViTMatte's 256, 128, 64, 32) puts a
    fusion block at each of 1/8, 1/4, 1/2 and 1. Three widths is the layout of folders
    saved before that: the aligned features and the 1/8 details are concatenated and go
    straight to the 1/4 block. The sd15 defaults have 2,678,497 parameters (Table 4:
    2.67M; the paper does not give the alignment width, 288 is the one that fits).

    The output of the last fusion block (``context_channels`` channels at full
    resolution) is the context feature the sparse upsampler reads (``return_context``).

    ``residual=False`` (default) is ViTMatte's and the paper's direct form,
    alpha = sigmoid(head). ``residual=True`` makes the head predict a logit correction of
    the upsampled coarse alpha, alpha = sigmoid(logit(up(alpha_lr)) + head), with the last
    conv starting at zero, so an untrained decoder returns up(alpha_lr).
    """

    @register_to_config
    def __init__(
        self,
        feature_channels: int = 320,
        align_channels: int = 288,
        stream_channels: Sequence[int] = (48, 96, 192),
        fusion_channels: Sequence[int] = (256, 128, 64, 32),
        head_channels: int = 16,
        in_channels: int = 5,
        residual: bool = False,
    ):
        super().__init__()
        if len(stream_channels) != 3 or len(fusion_channels) not in (3, 4):
            raise ValueError("stream_channels needs three widths (1/2 -> 1/8), fusion_channels four "
                             "(1/8 -> 1) or three (1/4 -> 1)")
        widths = [in_channels, *stream_channels]
        self.stream = nn.ModuleList(conv_bn_relu(widths[i], widths[i + 1], stride=2) for i in range(3))
        self.align = conv_bn_relu(feature_channels, align_channels)
        skips = widths[::-1][4 - len(fusion_channels):]  # skip widths from 1/8 (or 1/4) to 1
        prev = align_channels + (stream_channels[-1] if len(fusion_channels) == 3 else 0)
        fusion = []
        for skip, out in zip(skips, fusion_channels):
            fusion.append(conv_bn_relu(prev + skip, out))
            prev = out
        self.fusion = nn.ModuleList(fusion)
        self.head = nn.Sequential(
            nn.Conv2d(prev, head_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(head_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(head_channels, 1, 1),
        )
        if residual:
            nn.init.zeros_(self.head[-1].weight)
            nn.init.zeros_(self.head[-1].bias)

    @property
    def context_channels(self) -> int:
        """Channels of the context feature (the last fusion block's output)."""
        return self.config.fusion_channels[-1]

    def forward(
        self,
        image: torch.Tensor,
        alpha_lr: torch.Tensor,
        confidence_logits: torch.Tensor,
        features: torch.Tensor,
        return_context: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """image (B,3,H,W) in [-1,1]; alpha_lr, confidence_logits (B,1,H/8,W/8);
        features (B,Cf,H/8,W/8) -> alpha (B,1,H,W) in [0,1], and with ``return_context``
        also the context feature (B,context_channels,H,W). H, W multiples of 8."""
        size = image.shape[-2:]
        if size[0] % 8 or size[1] % 8:
            raise ValueError(f"DetailDecoder needs H and W multiples of 8, got {tuple(size)}")
        alpha_up = F.interpolate(alpha_lr.to(image.dtype), size=size, mode="bilinear", align_corners=False)
        conf_up = F.interpolate(confidence_logits.to(image.dtype), size=size, mode="bilinear", align_corners=False)
        x = torch.cat([image, alpha_up, torch.sigmoid(conf_up)], dim=1)
        details = [x]
        for block in self.stream:
            details.append(block(details[-1]))
        feats = self.align(features.to(image.dtype))
        if feats.shape[-2:] != details[-1].shape[-2:]:
            raise ValueError(f"features must be at 1/8 of the image: {tuple(feats.shape[-2:])} vs {tuple(size)}")
        x, skips = feats, details[::-1]  # skips at 1/8, 1/4, 1/2, 1
        if len(self.fusion) == 3:
            x, skips = torch.cat([x, skips[0]], dim=1), skips[1:]
        for block, skip in zip(self.fusion, skips):
            if x.shape[-2:] != skip.shape[-2:]:
                x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        logits = self.head(x)
        if self.config.residual:
            logits = logits + torch.logit(alpha_up.clamp(ALPHA_EPS, 1 - ALPHA_EPS))
        alpha = torch.sigmoid(logits)
        return (alpha, x) if return_context else alpha
