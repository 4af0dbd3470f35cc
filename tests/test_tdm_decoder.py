"""DetailDecoder: structure, shapes, range, gradients, save/load."""
import pytest
import torch

from tdm.decoder import DetailDecoder

TINY = dict(feature_channels=8, align_channels=8, stream_channels=(4, 8, 16), fusion_channels=(8, 8, 8, 6), head_channels=4)


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
    assert (dec.align[0].in_channels, dec.align[0].out_channels) == (320, 288)
    # one fusion block per detail scale (1/8, 1/4, 1/2, 1), ViTMatte's widths
    assert [(blk[0].in_channels, blk[0].out_channels) for blk in dec.fusion] == [
        (288 + 192, 256), (256 + 96, 128), (128 + 48, 64), (64 + 5, 32)]
    assert (dec.head[0].in_channels, dec.head[0].out_channels, dec.head[3].out_channels) == (32, 16, 1)
    assert not dec.config.residual  # the paper's direct alpha


def test_sd15_decoder_matches_table4_parameter_count():
    """Table 4: 2.67M learnable parameters in stage 3 (the decoder alone)."""
    with torch.device("meta"):
        count = sum(p.numel() for p in DetailDecoder(feature_channels=320).parameters())
    assert abs(count / 2.67e6 - 1) < 0.05, count


def test_three_width_layout_of_old_folders_still_builds_and_runs():
    old = dict(TINY, fusion_channels=(8, 8, 8))
    dec = DetailDecoder(**old).eval()
    assert [blk[0].in_channels for blk in dec.fusion] == [8 + 16 + 8, 8 + 4, 8 + 5]
    with torch.no_grad():
        assert dec(*_inputs()).shape == (2, 1, 32, 48)
    with pytest.raises(ValueError):
        DetailDecoder(**dict(TINY, fusion_channels=(8, 8)))


def test_context_feature_is_the_last_fusion_output():
    dec = _as_if_trained(DetailDecoder(**TINY)).eval()
    seen = {}
    dec.head.register_forward_hook(lambda module, args, out: seen.update(head_input=args[0]))
    with torch.no_grad():
        alpha, context = dec(*_inputs(), return_context=True)
        assert torch.equal(alpha, dec(*_inputs()))
    assert context.shape == (2, dec.context_channels, 32, 48) and dec.context_channels == TINY["fusion_channels"][-1]
    assert torch.equal(context, seen["head_input"])


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
    dec = DetailDecoder(**TINY, residual=True).eval()
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
