"""Heads on the 320-channel feature and the distillation projections Phi."""
import torch
from torch import nn

from tdm.heads import AlphaHead, Projection, Projections, SemanticHead


def test_semantic_and_alpha_heads():
    feature = torch.randn(2, 32, 6, 10)
    semantic = SemanticHead(32, 16).eval()
    convs = [m for m in semantic.trunk if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2 and sum(isinstance(m, nn.BatchNorm2d) for m in semantic.trunk) == 2
    assert semantic(feature).shape == (2, 3, 6, 10)
    alpha_head = AlphaHead(32, 16).eval()
    alpha, logits = alpha_head(feature)
    assert alpha.shape == logits.shape == (2, 1, 6, 10)
    torch.testing.assert_close(alpha, torch.sigmoid(alpha_head.out(alpha_head.trunk(feature))[:, :1]))


def test_projection_is_conv3_conv3_leaky_conv1():
    phi = Projection(8, 12)
    kinds = [(type(m).__name__, getattr(m, "kernel_size", None)) for m in phi.net]
    assert kinds == [("Conv2d", (1, 1)), ("LeakyReLU", None), ("Conv2d", (3, 3)), ("Conv2d", (3, 3))]
    assert phi(torch.randn(1, 8, 5, 7)).shape == (1, 12, 5, 7)
    many = Projections(points=("down_blocks.0", "up_blocks.2"), in_channels=(8, 4), out_channels=(8, 4))
    out = many({"down_blocks.0": torch.randn(1, 8, 4, 4), "up_blocks.2": torch.randn(1, 4, 8, 8)})
    assert out["down_blocks.0"].shape == (1, 8, 4, 4) and out["up_blocks.2"].shape == (1, 4, 8, 8)
