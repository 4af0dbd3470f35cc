"""TDMImageProcessor: input forms, the resolution rule, long-side sizes, pad / unpad."""
import numpy as np
import PIL.Image
import pytest
import torch

import tdm
from tdm.image_processor import TDMImageProcessor

PROCESSOR = TDMImageProcessor(vae_scale_factor=8, latent_multiple=8)


def _image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("resolution", [100, 0, -64, 32, 96, 128.0, True, "128"])
def test_a_resolution_off_the_multiple_is_refused(resolution):
    with pytest.raises(ValueError, match="resolution must be a multiple of 64"):
        PROCESSOR.check_resolution(resolution)


def test_multiples_of_64_pass_unchanged():
    assert [PROCESSOR.check_resolution(r) for r in (64, 128, 448, np.int64(512))] == [64, 128, 448, 512]
    assert TDMImageProcessor(8, 4).multiple == 32 and TDMImageProcessor(8, 4).check_resolution(96) == 96


def test_pipeline_refuses_instead_of_rounding_the_resolution():
    pipe = tdm.build_pipeline("tiny", seed=0)
    with pytest.raises(ValueError, match="multiple of 64"):
        pipe(_image(40, 60), "the dog", resolution=100)
    with pytest.raises(ValueError, match="multiple of 64"):
        pipe.encode_images(_image(40, 60), resolution=96)


def test_every_input_form_loads_to_the_same_uint8_chw():
    rgb = _image(5, 7)
    want = torch.from_numpy(rgb).permute(2, 0, 1)
    rgba = np.concatenate([rgb, np.full((5, 7, 1), 9, np.uint8)], axis=-1)
    forms = [rgb, torch.from_numpy(rgb), PIL.Image.fromarray(rgb), [PIL.Image.fromarray(rgb)],
             rgb.astype(np.float32) / 255, rgba, rgb[None]]
    for form in forms:
        loaded = PROCESSOR.load(form)
        assert len(loaded) == 1 and loaded[0].dtype == torch.uint8
        torch.testing.assert_close(loaded[0], want, atol=0, rtol=0)
    assert len(PROCESSOR.load(np.stack([rgb, rgb]))) == 2
    for bad in ([], np.zeros((5, 7)), np.zeros((5, 7, 2)), PIL.Image.fromarray(rgb[..., 0])):
        with pytest.raises(ValueError):
            PROCESSOR.load(bad)


def test_sizes_keep_the_aspect_or_squash():
    assert PROCESSOR.processing_size((40, 100), 128) == (51, 128)
    assert PROCESSOR.processing_size((300, 90), 256) == (256, 77)
    assert PROCESSOR.processing_size((40, 100), 128, square=True) == (128, 128)
    assert PROCESSOR.latent_size((51, 128)) == (7, 16) and PROCESSOR.latent_size((64, 8)) == (8, 1)
    with pytest.raises(ValueError):
        PROCESSOR.processing_size((40, 100), 120)


def test_pad_replicates_edges_and_unpad_undoes_it():
    x = torch.rand(2, 3, 51, 128)
    padded = PROCESSOR.pad(x)
    assert padded.shape == (2, 3, 64, 128)
    torch.testing.assert_close(PROCESSOR.unpad(padded, (51, 128)), x, atol=0, rtol=0)
    torch.testing.assert_close(padded[:, :, 51:], x[:, :, -1:].expand(2, 3, 13, 128), atol=0, rtol=0)
    square = torch.rand(1, 1, 64, 192)
    assert PROCESSOR.pad(square).shape == square.shape


def test_resize_keeps_same_size_and_antialiases_only_when_shrinking():
    x = torch.rand(1, 1, 32, 48)
    assert PROCESSOR.resize(x, (32, 48)) is x
    big = PROCESSOR.resize(x, (64, 96))
    plain = torch.nn.functional.interpolate(x, size=(64, 96), mode="bilinear", align_corners=False)
    torch.testing.assert_close(big, plain, atol=0, rtol=0)
    checker = (torch.arange(64)[:, None] + torch.arange(64)[None]) % 2
    small = PROCESSOR.resize(checker[None, None].float(), (16, 16))
    assert torch.allclose(small, torch.full_like(small, 0.5), atol=0.02)  # aliasing would keep 0 / 1


def test_normalize_maps_uint8_to_minus_one_one():
    frames = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    torch.testing.assert_close(PROCESSOR.normalize(frames, (1, 2))[0, :, 0],
                               torch.tensor([[-1.0, 1.0]] * 3))
