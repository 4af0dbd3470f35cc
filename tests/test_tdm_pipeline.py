"""TDMPipeline: input forms and sizes, split API, save/load, SD-1.5 folder init, meta build."""
import numpy as np
import pytest
import torch
from diffusers import UNet2DConditionModel

import tdm
from tdm.build import build_pipeline
from tdm.config import get_preset
from tdm.text import build_text_encoder, build_tokenizer

TINY = get_preset("tiny")


@pytest.fixture(scope="module")
def pipe():
    return build_pipeline("tiny", seed=0)


def _image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_odd_size_gives_alpha_at_input_size(pipe):
    out = pipe(_image(333, 517), prompt="the left zebra")
    assert isinstance(out, tdm.TDMPipelineOutput)
    assert out.alpha.shape == (1, 333, 517) and out.alpha.dtype == np.float32
    assert 0 <= out.alpha.min() and out.alpha.max() <= 1


def test_single_list_and_batch_inputs_agree(pipe):
    a, b = _image(40, 72, 1), _image(40, 72, 2)
    single = pipe(a, prompt="the dog").alpha
    batch = pipe(np.stack([a, b]), prompt="the dog").alpha
    listed = pipe([a, b], prompt="the dog", batch_size=1).alpha
    assert single.shape == (1, 40, 72) and batch.shape == listed.shape == (2, 40, 72)
    np.testing.assert_allclose(batch[0], single[0], atol=1e-5)
    np.testing.assert_allclose(batch, listed, atol=1e-5)
    mixed = pipe([a, _image(50, 30)], prompt=["the dog", "a cat"], output_type="pt").alpha
    assert isinstance(mixed, list) and mixed[0].shape == (40, 72) and mixed[1].shape == (50, 30)
    torch.testing.assert_close(mixed[0], torch.from_numpy(single[0]), atol=1e-5, rtol=0)
    with pytest.raises(ValueError):
        pipe([a, b], prompt=["one prompt for two images"])


def test_split_api_matches_call(pipe):
    images = np.stack([_image(64, 96, 3), _image(64, 96, 4)])
    text = pipe.encode_prompt(["the dog", "the left zebra"])
    assert text.shape == (2, 77, TINY.text_hidden_size)
    encoded = pipe.encode_images(images, resolution=128)
    assert encoded.valid == (85, 128) and encoded.latents.shape == (2, 4, 128 // 8, 128 // 8)
    out = pipe.predict_alpha(encoded, text[1:2])
    assert out.alpha.shape == (2, 64, 96)
    expected = pipe(images, prompt="the left zebra", resolution=128, output_type="pt")
    for name in ("alpha", "alpha_lr", "confidence"):
        torch.testing.assert_close(out[name], expected[name])
    with pytest.raises(ValueError):
        pipe.encode_images([_image(64, 96), _image(32, 32)])


def test_square_mode_squashes_to_the_resolution_without_padding(pipe):
    """The paper's preprocessing: any aspect ratio -> resolution x resolution, no padding."""
    image = _image(40, 100, 5)
    assert pipe.image_processor.processing_size((40, 100), 128, square=True) == (128, 128)
    keep = pipe.encode_images(image, resolution=128)
    assert keep.valid == (51, 128) and keep.images.shape[-2:] == (64, 128)  # padded by 13 rows
    encoded = pipe.encode_images(image, resolution=128, square=True)
    assert encoded.valid == (128, 128) and encoded.latents.shape[-2:] == (16, 16)
    rgb = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    squashed = torch.nn.functional.interpolate(rgb, size=(128, 128), mode="bilinear", align_corners=False)
    torch.testing.assert_close(encoded.images, squashed * 2 - 1)
    out = pipe(image, prompt="the dog", resolution=128, square=True).alpha
    assert out.shape == (1, 40, 100)
    by_parts = pipe.predict_alpha(encoded, pipe.encode_prompt("the dog"))
    np.testing.assert_allclose(out, by_parts.alpha.numpy(), atol=1e-5)
    assert np.abs(out - pipe(image, prompt="the dog", resolution=128).alpha).max() > 1e-3


def test_large_input_goes_through_the_upsampler(pipe):
    # long side 160 > processing 64: the sparse upsampler takes alpha to 160 px
    encoded = pipe.encode_images(_image(96, 160), resolution=64)
    assert encoded.valid == (38, 64) and encoded.images.shape[-2:] == (64, 64)
    alpha = pipe.predict_alpha(encoded, pipe.encode_prompt("x")).alpha
    assert alpha.shape == (1, 96, 160) and 0 <= alpha.min() and alpha.max() <= 1


def test_save_load_identical_weights_and_alpha(pipe, tmp_path):
    image = _image(80, 48)
    before = pipe(image, prompt="the person on the right").alpha
    pipe.save_pretrained(tmp_path)
    files = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert not any(f.endswith((".bin", ".pt", ".pth", ".ckpt")) for f in files)
    assert {"unet", "decoder", "upsampler", "text_adapter", "tokenizer"} <= {p.name for p in tmp_path.iterdir()}
    loaded = tdm.TDMPipeline.from_pretrained(tmp_path)
    assert loaded.teacher_unet is None and loaded.semantic_head is None
    assert loaded.config.resolution == TINY.resolution
    for name, module in pipe.components.items():
        if isinstance(module, torch.nn.Module):
            a, b = module.state_dict(), getattr(loaded, name).state_dict()
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    np.testing.assert_array_equal(loaded(image, prompt="the person on the right").alpha, before)


def test_teacher_is_optional_and_saved(tmp_path):
    pipe = build_pipeline("tiny", seed=1, with_teacher=True)
    assert pipe.teacher_unet is not None and pipe.semantic_head is not None
    pipe.save_pretrained(tmp_path)
    loaded = tdm.TDMPipeline.from_pretrained(tmp_path)
    key = "up_blocks.1.resnets.2.conv1.weight"
    assert torch.equal(loaded.teacher_unet.state_dict()[key], pipe.teacher_unet.state_dict()[key])
    assert type(loaded.semantic_head).__name__ == "SemanticHead"


def test_seed_fixes_weights():
    a = build_pipeline("tiny", seed=3).unet.state_dict()
    b = build_pipeline("tiny", seed=3).unet.state_dict()
    c = build_pipeline("tiny", seed=4).unet.state_dict()
    key = "down_blocks.0.resnets.0.conv1.weight"
    assert torch.equal(a[key], b[key]) and not torch.equal(a[key], c[key])


def test_init_from_sd15_layout_folder(tmp_path):
    torch.manual_seed(5)
    sd_unet = UNet2DConditionModel(**TINY.teacher_unet_config())
    sd_unet.save_pretrained(tmp_path / "unet")
    from diffusers import AutoencoderKL

    vae = AutoencoderKL(**TINY.vae_config())
    vae.save_pretrained(tmp_path / "vae")
    build_text_encoder(TINY).save_pretrained(tmp_path / "text_encoder")
    build_tokenizer(TINY.tokenizer_vocab_size).save_pretrained(tmp_path / "tokenizer")
    pipe = build_pipeline("tiny", pretrained=str(tmp_path), with_teacher=True)
    source = sd_unet.state_dict()
    teacher, student = pipe.teacher_unet.state_dict(), pipe.unet.state_dict()
    assert source.keys() == teacher.keys() and all(torch.equal(source[k], teacher[k]) for k in source)
    assert torch.equal(student["up_blocks.0.resnets.1.conv1.weight"], source["up_blocks.1.resnets.2.conv1.weight"])
    assert torch.equal(student["conv_in.weight"], source["conv_in.weight"])
    assert torch.equal(pipe.vae.state_dict()["encoder.conv_in.weight"], vae.state_dict()["encoder.conv_in.weight"])
    assert pipe(_image(64, 64), prompt="a cat").alpha.shape == (1, 64, 64)


def test_sd15_builds_on_meta_device():
    pipe = tdm.build_pipeline("sd15", device="meta")
    assert pipe.unet.device.type == "meta" and pipe.teacher_unet is None
    assert sum(p.numel() for p in pipe.unet.parameters()) == 346_735_044
    assert pipe.text_encoder.config.hidden_size == 768 and pipe.text_encoder.config.num_hidden_layers == 12
    assert pipe.vae.config.block_out_channels == (128, 256, 512, 512) or \
        list(pipe.vae.config.block_out_channels) == [128, 256, 512, 512]
    assert pipe.image_processor.multiple == 64 and pipe.config.resolution == 512


def test_bfloat16_on_cpu_matches_float32(pipe):
    image = _image(48, 64)  # smaller than the processing size: no upsampler involved
    low = build_pipeline("tiny", seed=0, dtype=torch.bfloat16)
    assert low.unet.dtype == low.decoder.dtype == torch.bfloat16
    alpha = low(image, prompt="the dog").alpha
    assert alpha.dtype == np.float32
    np.testing.assert_allclose(alpha, pipe(image, prompt="the dog").alpha, atol=0.02)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cuda_half_precision(pipe, dtype):
    image = _image(333, 517)  # larger than the processing size: the upsampler runs
    cuda = build_pipeline("tiny", seed=0, device="cuda", dtype=dtype)
    alpha = cuda(image, prompt="the dog").alpha
    assert alpha.shape == (1, 333, 517) and np.isfinite(alpha).all()
    np.testing.assert_allclose(alpha, pipe(image, prompt="the dog").alpha, atol=0.05)


def test_predict_alpha_shows_the_coarse_stage(pipe):
    """alpha_lr and the confidence map are the alpha head's, on the latent grid that covers
    the unpadded processing size."""
    encoded = pipe.encode_images(_image(40, 100, 6), resolution=128)  # 51 x 128, padded to 64 x 128
    text = pipe.encode_prompt("the dog")
    out = pipe.predict_alpha(encoded, text)
    assert out.alpha.shape == (1, 40, 100)
    assert out.alpha_lr.shape == out.confidence.shape == (1, 7, 16)
    with torch.inference_mode():
        alpha_lr, logits = pipe.alpha_head(pipe.unet.features(encoded.latents, text))
    torch.testing.assert_close(out.alpha_lr, alpha_lr[:, 0, :7], atol=0, rtol=0)
    torch.testing.assert_close(out.confidence, torch.sigmoid(logits[:, 0, :7]), atol=0, rtol=0)
    assert 0 <= out.confidence.min() and out.confidence.max() <= 1 and out.confidence.std() > 0


def test_call_returns_the_coarse_stage_per_image(pipe):
    images = [_image(40, 100, 7), _image(64, 64, 8)]
    out = pipe(images, prompt="the dog", resolution=128)
    assert isinstance(out.alpha_lr, list) and isinstance(out.confidence, list)
    assert [a.shape for a in out.alpha_lr] == [c.shape for c in out.confidence] == [(7, 16), (16, 16)]
    one = pipe(images[1], prompt="the dog", resolution=128, output_type="pt")
    assert one.alpha_lr.shape == one.confidence.shape == (1, 16, 16)
    np.testing.assert_allclose(one.alpha_lr[0].numpy(), out.alpha_lr[1], atol=1e-6)
