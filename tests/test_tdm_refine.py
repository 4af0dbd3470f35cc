"""SparseUpsampler: exact submanifold semantics on CPU, shapes, range, backends, the
decoder's context input, the active-set rule, old folders."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tdm
from tdm.refine import ActiveSet, SparseUpsampler, dense_bilinear, submanifold_conv3x3



def _random_upsampler(seed=0, **kw) -> SparseUpsampler:
    torch.manual_seed(seed)
    up = SparseUpsampler(**kw)
    for p in up.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return up.eval()


def _soft_alpha(h=24, w=32, seed=0):
    """Mostly 0/1 with a soft band, like a real matte."""
    g = torch.Generator().manual_seed(seed)
    x = torch.linspace(-3, 3, w).view(1, 1, 1, w).expand(1, 1, h, w)
    return (torch.sigmoid(4 * x) + 0.05 * torch.randn(1, 1, h, w, generator=g)).clamp(0, 1)


def _context(alpha, channels=3, seed=0):
    """A decoder context feature (B,C,H,W) at the alpha's size."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(alpha.shape[0], channels, *alpha.shape[-2:], generator=g)


@pytest.mark.parametrize("density", [0.05, 0.3, 0.8, 1.0])
def test_submanifold_conv_equals_masked_dense_conv(density):
    g = torch.Generator().manual_seed(int(density * 100))
    x = torch.randn(2, 5, 19, 23, generator=g)
    mask = torch.rand(2, 19, 23, generator=g) < density
    weight, bias = torch.randn(7, 5, 3, 3, generator=g), torch.randn(7, generator=g)
    active = ActiveSet.from_mask(mask)
    out = active.scatter(submanifold_conv3x3(active.gather(x), active, weight, bias), (19, 23), 2)
    m = mask[:, None].float()
    expected = F.conv2d(x * m, weight, bias, padding=1) * m
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def _dense_reference(up: SparseUpsampler, image, alpha, context=None):
    """The same computation with dense masked convolutions (conv2d(x*m)*m)."""
    h2, w2 = image.shape[-2:]
    hidden = None
    for group, size in zip(up.groups, [((h2 + 1) // 2, (w2 + 1) // 2), (h2, w2)]):
        alpha = F.interpolate(alpha, size=size, mode="bilinear", align_corners=False)
        m = up.active_mask(alpha)[:, None].float()
        img = image if size == (h2, w2) else F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)
        parts = [alpha, img]
        if context is not None:
            parts.append(F.interpolate(context, size=size, mode="bilinear", align_corners=False))
        if hidden is not None:
            parts.append(F.interpolate(hidden, size=size, mode="bilinear", align_corners=False))
        x = torch.cat(parts, 1)
        for conv in group["body"]:
            x = F.relu(F.conv2d(x * m, conv.weight, conv.bias, padding=1) * m)
        hidden = x
        res = F.conv2d(x * m, group["out"].weight, group["out"].bias, padding=1) * m
        alpha = torch.where(m > 0, (alpha + res).clamp(0, 1), alpha)
    return alpha


@pytest.mark.parametrize("out_size", [(96, 128), (101, 157)])
@pytest.mark.parametrize("context_channels", [0, 3])
@pytest.mark.parametrize("dilation", [0, 2])
def test_torch_backend_equals_dense_masked_reference(out_size, context_channels, dilation):
    up = _random_upsampler(context_channels=context_channels, dilation=dilation)
    image = torch.rand(2, 3, *out_size) * 2 - 1
    alpha = torch.cat([_soft_alpha(seed=0), _soft_alpha(seed=1)])
    context = _context(alpha) if context_channels else None
    with torch.no_grad():
        out = up(image, alpha, context, backend="torch")
        ref = _dense_reference(up, image, alpha, context)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dst_size", [(50, 70), (12, 9), (24, 32)])
def test_dense_bilinear_equals_interpolate(dst_size):
    dense = torch.randn(2, 5, 24, 32)
    coords = torch.ones(2, *dst_size, dtype=torch.bool).nonzero()
    expected = F.interpolate(dense, size=dst_size, mode="bilinear", align_corners=False)
    torch.testing.assert_close(dense_bilinear(dense, coords, dst_size), expected.movedim(1, -1).reshape(-1, 5))


def test_every_group_reads_the_decoder_context():
    up = _random_upsampler(context_channels=3)
    # input channels: alpha 1 + RGB 3 + context 3 (+ the previous group's hidden in group 2)
    assert [g["body"][0].in_channels for g in up.groups] == [7, 7 + up.config.hidden_channels]
    image, alpha = torch.rand(1, 3, 96, 128) * 2 - 1, _soft_alpha()
    context = _context(alpha)
    with torch.no_grad():
        base = up(image, alpha, context)
        assert not torch.allclose(base, up(image, alpha, context + 1))
    with pytest.raises(ValueError, match="context"):
        up(image, alpha)
    with pytest.raises(ValueError, match="context"):
        up(image, alpha, context[:, :2])


def test_upsampler_without_context_input_ignores_a_context():
    up = _random_upsampler()
    assert up.config.context_channels == 0  # absent from a config: the old behaviour
    image, alpha = torch.rand(1, 3, 48, 64) * 2 - 1, _soft_alpha()
    with torch.no_grad():
        assert torch.equal(up(image, alpha), up(image, alpha, _context(alpha)))


def test_active_set_is_the_papers_rule_by_default():
    up = SparseUpsampler()
    alpha = torch.tensor([0.0, 0.01, 0.011, 0.5, 0.989, 0.99, 1.0]).view(1, 1, 1, 7)
    assert up.active_mask(alpha).tolist() == [[[False, False, True, True, True, False, False]]]
    # the dilated variant old folders were saved with spreads it by ``dilation`` px
    wide = SparseUpsampler(dilation=1).active_mask(alpha)
    assert wide.tolist() == [[[False, True, True, True, True, True, False]]]


def test_output_size_range_and_inactive_pixels_keep_interpolation():
    up = _random_upsampler(seed=3)
    alpha = torch.zeros(1, 1, 24, 32)
    alpha[..., :, 16:] = 1
    alpha[..., 8:12, 4:8] = 0.5  # a small transparent patch
    image = torch.rand(1, 3, 77, 131) * 2 - 1
    with torch.no_grad():
        out = up(image, alpha)
    assert out.shape == (1, 1, 77, 131)
    assert out.min() >= 0 and out.max() <= 1
    interp = F.interpolate(F.interpolate(alpha, size=(39, 66), mode="bilinear"), size=(77, 131), mode="bilinear")
    far = torch.ones_like(out, dtype=torch.bool)
    far[..., 10:56, 4:46] = False  # around the patch
    far[..., :, 54:78] = False  # around the 0 -> 1 edge (soft after interpolation)
    assert torch.equal(out[far], interp[far])
    assert not torch.allclose(out[~far], interp[~far])  # the patch was refined


def test_untrained_upsampler_is_bilinear_interpolation():
    up = SparseUpsampler(hidden_channels=4)
    alpha = _soft_alpha()
    with torch.no_grad():
        out = up(torch.zeros(1, 3, 50, 64), alpha)
    interp = F.interpolate(F.interpolate(alpha, size=(25, 32), mode="bilinear"), size=(50, 64), mode="bilinear")
    torch.testing.assert_close(out, interp)


@pytest.mark.parametrize("zero_groups", [1, 2])
def test_groups_with_a_zero_last_conv_are_skipped_without_changing_the_output(zero_groups, monkeypatch):
    """Trailing groups whose last conv is zero add exactly nothing: without gradients they
    only interpolate (bit-identical output); with gradients every group runs (so a
    zero-initialised upsampler still trains)."""
    up = _random_upsampler(seed=5, hidden_channels=4)
    for group in up.groups[len(up.groups) - zero_groups:]:
        torch.nn.init.zeros_(group["out"].weight)
        torch.nn.init.zeros_(group["out"].bias)
    alpha, image = _soft_alpha(), torch.rand(1, 3, 50, 64) * 2 - 1
    with torch.no_grad():
        assert up.refining_groups() == len(up.groups) - zero_groups
        skipped = up(image, alpha)
        monkeypatch.setattr(SparseUpsampler, "refining_groups", lambda self: len(self.groups))
        assert torch.equal(skipped, up(image, alpha))
    monkeypatch.undo()
    assert up.refining_groups() == len(up.groups)  # gradients on: every group runs
    up(image, alpha).sum().backward()
    assert all(g["out"].weight.grad.abs().sum() > 0 for g in up.groups)


def test_no_active_pixels_and_gradients():
    up = _random_upsampler(hidden_channels=4)
    binary = torch.cat([torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 8, 8)])
    with torch.no_grad():
        out = up(torch.rand(2, 3, 16, 16), binary)
    assert torch.equal(out, F.interpolate(binary, size=(16, 16)))
    up(torch.rand(1, 3, 40, 40), _soft_alpha(10, 10)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in up.parameters())


def test_backend_choice():
    up = SparseUpsampler()
    assert up.resolve_backend(torch.device("cpu")) == "torch"
    with pytest.raises(ValueError):
        up.resolve_backend(torch.device("cpu"), "spconv")
    with pytest.raises(ValueError):
        SparseUpsampler(backend="cuda")


def test_save_and_load(tmp_path):
    up = _random_upsampler(hidden_channels=4, context_channels=2)
    up.save_pretrained(tmp_path)
    loaded = SparseUpsampler.from_pretrained(tmp_path)
    image, alpha = torch.rand(1, 3, 40, 48) * 2 - 1, _soft_alpha(10, 12)
    context = _context(alpha, 2)
    with torch.no_grad():
        assert torch.equal(up(image, alpha, context), loaded(image, alpha, context))


def test_a_folder_saved_before_context_and_paper_rule_loads_with_its_old_upsampler(tmp_path):
    """Folders saved before ``context_channels`` existed (the first shipped demos, dilation 2)
    load with the upsampler they were trained with: no context, dilated active set."""
    pipe = tdm.build_pipeline("tiny", seed=0)
    pipe.register_modules(upsampler=SparseUpsampler(hidden_channels=8, dilation=2))
    pipe.save_pretrained(tmp_path)
    config_path = tmp_path / "upsampler" / "config.json"
    config = json.loads(config_path.read_text())
    del config["context_channels"]
    config_path.write_text(json.dumps(config))
    loaded = tdm.TDMPipeline.from_pretrained(tmp_path)
    assert loaded.upsampler.config.context_channels == 0 and loaded.upsampler.config.dilation == 2
    image = np.random.default_rng(0).integers(0, 255, (180, 260, 3), dtype=np.uint8)
    calls = []
    loaded.upsampler.register_forward_hook(lambda module, args, out: calls.append(out.shape))
    alpha = loaded(image, prompt="the zebra").alpha
    assert calls == [(1, 1, 180, 260)]  # larger than the processing size: the upsampler ran
    assert alpha.shape == (1, 180, 260) and 0 <= alpha.min() <= alpha.max() <= 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_spconv_matches_torch_backend_on_cuda():
    pytest.importorskip("spconv.pytorch")
    up = _random_upsampler(context_channels=3).cuda()
    image = torch.rand(2, 3, 270, 480, device="cuda") * 2 - 1
    alpha = torch.cat([_soft_alpha(68, 120, seed=0), _soft_alpha(68, 120, seed=1)]).cuda()
    context = _context(alpha).cuda()
    with torch.no_grad():
        a = up(image, alpha, context, backend="torch")
        b = up(image, alpha, context, backend="spconv")
    torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3)


@pytest.fixture
def spconv_on_cpu(monkeypatch):
    """spconv made runnable on CPU torch: its Native algorithm (the one our backend uses)
    has CPU kernels, but asks torch for the current CUDA stream first.

    The product never runs spconv on CPU; this lets CI check everything our spconv backend
    does (weight layout, index buffer, shared rulebook, feature order, gradients) against
    the torch backend. Needs the `spconv-cu120` wheel (test extra).
    """
    pytest.importorskip("spconv.pytorch")
    from spconv.pytorch import cppcore, ops

    for module in (cppcore, ops):
        monkeypatch.setattr(module, "get_current_stream", lambda: 0)


@pytest.mark.parametrize("out_size", [(41, 67), (135, 240)])
def test_spconv_backend_matches_torch_backend_on_cpu(spconv_on_cpu, monkeypatch, out_size):
    up = _random_upsampler(seed=5, context_channels=3)
    g = torch.Generator().manual_seed(7)
    image = torch.rand(2, 3, *out_size, generator=g) * 2 - 1
    h, w = (out_size[0] + 3) // 4, (out_size[1] + 3) // 4
    alpha = torch.cat([_soft_alpha(h, w, seed=2), _soft_alpha(h, w, seed=3).flip(-1)])
    context = _context(alpha, 3, seed=4)
    reference = up(image, alpha, context, backend="torch")
    reference.square().sum().backward()
    expected_grads = [p.grad.clone() for p in up.parameters()]
    up.zero_grad()

    monkeypatch.setattr(up, "resolve_backend", lambda device, backend=None: "spconv")
    out = up(image, alpha, context)
    out.square().sum().backward()
    torch.testing.assert_close(out, reference, rtol=1e-4, atol=1e-4)
    for got, want in zip((p.grad for p in up.parameters()), expected_grads):
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-3)
