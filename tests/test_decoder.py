"""DetailDecoder: structure, shapes, range, gradients, save/load."""
import pytest
import torch

from tdm.decoder import DetailDecoder

TINY = dict(feature_channels=8, align_channels=8, stream_channels=(4, 8, 16), fusion_channels=(8, 8, 8), head_channels=4)


def _inputs(b=2, h=32, w=48, cf=8):
    g = torch.Generator().manual_seed(0)
    return (
        torch.rand(b, 3, h, w, generator=g) * 2 - 1,
        torch.rand(b, 1, h // 8, w // 8, generator=g),
        torch.randn(b, 1, h // 8, w // 8, generator=g),
        torch.randn(b, cf, h // 8, w // 8, generator=g),
    )


def test_default_structure_follows_vitmatte_detail_capture():
    dec = DetailDecoder()
    convs = [blk[0] for blk in dec.stream]
    assert [(c.in_channels, c.out_channels, c.stride) for c in convs] == [(5, 48, (2, 2)), (48, 96, (2, 2)), (96, 192, (2, 2))]
    assert (dec.align[0].in_channels, dec.align[0].out_channels) == (320, 320)
    assert [blk[0].in_channels for blk in dec.fusion] == [320 + 192 + 96, 128 + 48, 64 + 5]
    assert dec.fusion[-1][0].out_channels == 32
    assert (dec.head[0].in_channels, dec.head[0].out_channels, dec.head[3].out_channels) == (32, 16, 1)


def test_output_shape_and_range():
    dec = DetailDecoder(**TINY).eval()
    with torch.no_grad():
        alpha = dec(*_inputs())
    assert alpha.shape == (2, 1, 32, 48)
    assert alpha.min() >= 0 and alpha.max() <= 1


def _as_if_trained(dec: DetailDecoder) -> DetailDecoder:
    """The residual form starts with a zero last conv; give it weights, as training would."""
    with torch.no_grad():
        dec.head[-1].weight.normal_(0, 0.5)
    return dec


def test_untrained_residual_decoder_returns_the_upsampled_coarse_alpha():
    dec = DetailDecoder(**TINY).eval()
    image, alpha_lr, conf, feats = _inputs()
    with torch.no_grad():
        alpha = dec(image, alpha_lr, conf, feats)
    up = torch.nn.functional.interpolate(alpha_lr, size=(32, 48), mode="bilinear", align_corners=False)
    assert torch.allclose(alpha, up.clamp(1e-4, 1 - 1e-4), atol=1e-5)


@pytest.mark.parametrize("residual", [True, False])
def test_every_parameter_gets_a_gradient(residual):
    dec = _as_if_trained(DetailDecoder(**TINY, residual=residual))
    dec(*_inputs()).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in dec.parameters())


@pytest.mark.parametrize("residual", [True, False])
def test_confidence_and_features_change_the_output(residual):
    dec = _as_if_trained(DetailDecoder(**TINY, residual=residual)).eval()
    image, alpha_lr, conf, feats = _inputs()
    with torch.no_grad():
        base = dec(image, alpha_lr, conf, feats)
        assert not torch.allclose(base, dec(image, alpha_lr, conf + 3, feats))
        assert not torch.allclose(base, dec(image, alpha_lr, conf, feats * 2))


def test_bad_sizes_raise():
    dec = DetailDecoder(**TINY)
    image, alpha_lr, conf, feats = _inputs()
    with pytest.raises(ValueError):
        dec(image[..., :30, :], alpha_lr, conf, feats)
    with pytest.raises(ValueError):
        dec(image, alpha_lr, conf, feats[..., :2, :])


def test_save_and_load_give_identical_alpha(tmp_path):
    dec = DetailDecoder(**TINY).eval()
    dec.save_pretrained(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").exists()
    loaded = DetailDecoder.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        assert torch.equal(dec(*_inputs()), loaded(*_inputs()))
