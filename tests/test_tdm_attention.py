"""Attention capture: A @ alpha without n x n maps, cross maps, shapes per resolution."""
import pytest
import torch
from diffusers.models.attention_processor import Attention, AttnProcessor2_0

from tdm.attention import TDMAttnProcessor, capture_attention
from tdm.config import get_preset
from tdm.heads import AlphaHead, SemanticHead
from tdm.forward import run_student, run_teacher
from tdm.unets import KD_POINTS, build_student_unet, build_teacher_unet

TINY = get_preset("tiny")


def _explicit(attn: Attention, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """Head-averaged softmax(Q K^T / sqrt(d)) built in full: (B, N, M)."""
    b, heads = x.shape[0], attn.heads
    q = attn.to_q(x).view(b, x.shape[1], heads, -1).transpose(1, 2)
    k = attn.to_k(context).view(b, context.shape[1], heads, -1).transpose(1, 2)
    return ((q @ k.transpose(-1, -2)) / q.shape[-1] ** 0.5).softmax(-1).mean(1)


@pytest.mark.parametrize("k", [1, 2])
def test_self_attention_alpha_equals_explicit_product(k):
    torch.manual_seed(0)
    c, (h, w) = 16, (4, 6)
    attn = Attention(query_dim=c, heads=2, dim_head=c // 2)
    processor = TDMAttnProcessor(c, k)
    attn.set_processor(processor)
    processor.hw = (h, w)
    x = torch.randn(2, h * w, c)
    alpha = torch.rand(2, 1, 3 * h, 3 * w)
    with torch.no_grad(), capture_attention(attn, alpha) as record:
        out = attn(x)
    context = x
    alpha_small = torch.nn.functional.interpolate(alpha, size=(h, w), mode="bilinear")
    if k > 1:
        grid = x.transpose(1, 2).reshape(2, c, h, w)
        context = processor.kv_downsample(grid).flatten(2).transpose(1, 2)
        alpha_small = torch.nn.functional.avg_pool2d(alpha_small, k)
    with torch.no_grad():
        expected = _explicit(attn, x, context) @ alpha_small.flatten(2).transpose(1, 2)
    got = record.self_attention_alpha()[(h, w)]
    assert got.shape == (2, h * w, 1)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert processor.record is None and out.shape == x.shape


def test_cross_attention_maps_and_output_match_diffusers():
    torch.manual_seed(0)
    attn = Attention(query_dim=16, cross_attention_dim=8, heads=2, dim_head=8)
    x, text = torch.randn(1, 12, 16), torch.randn(1, 5, 8)
    with torch.no_grad():
        reference = attn(x, encoder_hidden_states=text)
        processor = TDMAttnProcessor()
        attn.set_processor(processor)
        processor.hw = (3, 4)
        with capture_attention(attn) as record:
            out = attn(x, encoder_hidden_states=text)
        expected = _explicit(attn, x, text)
    torch.testing.assert_close(out, reference)
    maps = record.cross_attention()[(3, 4)]
    torch.testing.assert_close(maps, expected)
    torch.testing.assert_close(maps.sum(-1), torch.ones(1, 12))
    assert not record.self_alpha
    attn.set_processor(AttnProcessor2_0())


def test_teacher_and_student_runs_give_maps_per_resolution():
    torch.manual_seed(0)
    teacher = build_teacher_unet(TINY)
    student = build_student_unet(teacher, TINY)
    c0 = TINY.block_out_channels[0]
    latents = torch.randn(2, 4, 8, 16)
    text = torch.randn(1, 77, TINY.cross_attention_dim)
    alpha = torch.rand(2, 1, 64, 128)
    with torch.no_grad():
        t = run_teacher(teacher, SemanticHead(c0, 8).eval(), latents, text, alpha)
        s = run_student(student, AlphaHead(c0, 8).eval(), latents, text, alpha)
    assert t.semantic_logits.shape == (2, 3, 8, 16) and t.feature.shape == (2, c0, 8, 16)
    assert s.alpha_lr.shape == s.confidence_logits.shape == (2, 1, 8, 16)
    assert 0 <= s.alpha_lr.min() and s.alpha_lr.max() <= 1
    # teacher: three attention levels plus the mid block; student: no self-attention at 8x16
    assert set(t.cross_attention) == {(8, 16), (4, 8), (2, 4), (1, 2)}
    assert set(t.self_attention_alpha) == set(t.cross_attention)
    assert set(s.cross_attention) == {(8, 16), (4, 8), (2, 4)}
    assert set(s.self_attention_alpha) == {(4, 8), (2, 4)}
    for (h, w), maps in s.cross_attention.items():
        assert maps.shape == t.cross_attention[(h, w)].shape == (2, h * w, 77)
    for (h, w), prop in s.self_attention_alpha.items():
        assert prop.shape == t.self_attention_alpha[(h, w)].shape == (2, h * w, 1)
        assert 0 <= prop.min() and prop.max() <= 1
    for s_name, t_name in KD_POINTS.items():
        assert s.kd_features[s_name].shape == t.kd_features[t_name].shape, s_name


def test_capture_off_records_nothing_and_keeps_features():
    torch.manual_seed(0)
    teacher = build_teacher_unet(TINY)
    latents, text = torch.randn(1, 4, 8, 8), torch.randn(1, 77, TINY.cross_attention_dim)
    head = SemanticHead(TINY.block_out_channels[0], 8).eval()
    with torch.no_grad():
        on = run_teacher(teacher, head, latents, text)
        off = run_teacher(teacher, head, latents, text, capture=False)
    assert not off.cross_attention and not off.self_attention_alpha and not on.self_attention_alpha
    torch.testing.assert_close(on.feature, off.feature)
