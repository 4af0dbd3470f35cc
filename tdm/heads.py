"""Heads on the U-Net's 320-channel decoder feature, and the distillation projections.

* ``SemanticHead`` (teacher, eq. 2): two Conv3x3-BN-ReLU groups, then a 1x1 conv to 3
  classes (0 foreground, 1 background, 2 transparent), at 1/8 resolution.
* ``AlphaHead`` (student, eqs. 7-8): the same trunk, then a 1x1 conv to 2 channels:
  ``alpha_lr = sigmoid(channel 0)`` and confidence logits ``R = channel 1``.
* ``Projections`` (eq. 4): per KD point ``Phi(F) = Conv3x3(Conv3x3(LeakyReLU(Conv1x1(F))))``.
"""
from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .decoder import conv_bn_relu


def _trunk(in_channels: int, channels: int) -> nn.Sequential:
    """Two Conv3x3-BN-ReLU groups, flat (saved keys ``0``-``5``): (B, in, h, w) -> (B, channels, h, w)."""
    return nn.Sequential(*conv_bn_relu(in_channels, channels), *conv_bn_relu(channels, channels))


class SemanticHead(ModelMixin, ConfigMixin):
    """(B, C, h, w) decoder feature -> (B, 3, h, w) region logits (fg / bg / transparent)."""

    @register_to_config
    def __init__(self, in_channels: int = 320, channels: int = 128, num_classes: int = 3):
        super().__init__()
        self.trunk = _trunk(in_channels, channels)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.trunk(feature))


class AlphaHead(ModelMixin, ConfigMixin):
    """(B, C, h, w) decoder feature -> alpha_lr (B, 1, h, w) in [0, 1], R logits (B, 1, h, w)."""

    @register_to_config
    def __init__(self, in_channels: int = 320, channels: int = 128):
        super().__init__()
        self.trunk = _trunk(in_channels, channels)
        self.out = nn.Conv2d(channels, 2, 1)

    def forward(self, feature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha_logit, confidence_logits = self.out(self.trunk(feature)).chunk(2, dim=1)
        return torch.sigmoid(alpha_logit), confidence_logits


class Projection(nn.Module):
    """Phi: (B, C_in, h, w) student feature -> (B, C_out, h, w) in the teacher's space."""

    def __init__(self, in_channels: int, out_channels: int, negative_slope: float = 0.01):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1),
            nn.LeakyReLU(negative_slope, inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
        )

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        return self.net(feature)


class Projections(ModelMixin, ConfigMixin):
    """One Phi per KD point; ``forward({name: (B,C,h,w)}) -> {name: (B,C',h,w)}``."""

    @register_to_config
    def __init__(self, points: tuple[str, ...] = (), in_channels: tuple[int, ...] = (),
                 out_channels: tuple[int, ...] = ()):
        super().__init__()
        self.points = tuple(points)
        self.phi = nn.ModuleList(Projection(i, o) for i, o in zip(in_channels, out_channels))

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {name: phi(features[name]) for name, phi in zip(self.points, self.phi)}
