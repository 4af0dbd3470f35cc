"""Teacher/student U-Nets: copy map, removed self-attention, K/V convs, save/load, sizes."""
import torch
from diffusers import UNet2DConditionModel

from tdm.attention import NoSelfAttention, TDMAttnProcessor
from tdm.config import get_preset
from tdm.unets import KD_POINTS, TDMUNet, build_student_unet, build_teacher_unet, student_teacher_copy_map

TINY = get_preset("tiny")


def _pair():
    torch.manual_seed(0)
    teacher = build_teacher_unet(TINY)
    return teacher, build_student_unet(teacher, TINY)


def test_copy_map_student_tensors_equal_teacher_sources():
    teacher, student = _pair()
    t, s = teacher.state_dict(), student.state_dict()
    mapping = student_teacher_copy_map(list(s))
    assert set(s) - set(mapping) == {k for k in s if ".processor.kv_downsample." in k}
    for student_key, teacher_key in mapping.items():
        assert torch.equal(s[student_key], t[teacher_key]), student_key
    # the BK-SDM rule spelled out: student up_blocks.i {0, 1} <- teacher up_blocks.(i+1) {0, 2}
    assert mapping["up_blocks.0.resnets.1.conv1.weight"] == "up_blocks.1.resnets.2.conv1.weight"
    assert mapping["up_blocks.2.attentions.0.proj_in.weight"] == "up_blocks.3.attentions.0.proj_in.weight"
    assert mapping["up_blocks.1.upsamplers.0.conv.weight"] == "up_blocks.2.upsamplers.0.conv.weight"
    assert mapping["down_blocks.1.resnets.0.conv1.weight"] == "down_blocks.1.resnets.0.conv1.weight"


def test_no_self_attention_weights_at_the_64_level():
    _, student = _pair()
    keys = list(student.state_dict())
    for prefix in ("down_blocks.0.", "up_blocks.2."):
        level = [k for k in keys if k.startswith(prefix)]
        assert level and not any(".attn1." in k or "transformer_blocks.0.norm1." in k for k in level)
        assert any(".attn2." in k for k in level)
    blocks = [m for m in student.up_blocks[2].modules() if hasattr(m, "attn1")]
    assert len(blocks) == 2 and all(isinstance(b.attn1, NoSelfAttention) for b in blocks)
    assert any(k.startswith("down_blocks.1.") and ".attn1.to_q." in k for k in keys)


def test_kv_downsample_convs_dense_and_depthwise():
    _, student = _pair()
    convs = {n: m.kv_downsample for n, m in student.named_modules()
             if isinstance(m, TDMAttnProcessor) and m.kv_downsample is not None}
    # levels 1 and 2: one down attention and two up attentions each
    assert len(convs) == 6
    conv = convs["down_blocks.1.attentions.0.transformer_blocks.0.attn1.processor"]
    assert conv.kernel_size == (2, 2) and conv.stride == (2, 2) and conv.groups == 1
    depthwise = TDMUNet(**{**TINY.student_unet_config(), "kv_downsample_mode": "depthwise"})
    dense_n = sum(p.numel() for p in student.parameters())
    depth_n = sum(p.numel() for p in depthwise.parameters())
    c1, c2 = TINY.block_out_channels[1:3]
    assert dense_n - depth_n == 3 * (c1 * c1 * 4 - c1 * 4) + 3 * (c2 * c2 * 4 - c2 * 4)


def test_student_save_load_roundtrip(tmp_path):
    _, student = _pair()
    student.save_pretrained(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").exists()
    loaded = TDMUNet.from_pretrained(tmp_path)
    assert list(loaded.config.kv_downsample) == list(student.config.kv_downsample) == [1, 2, 2]
    assert list(loaded.config.no_self_attention_levels) == [0]
    a, b = student.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    latents, text = torch.randn(1, 4, 8, 16), torch.randn(1, 77, TINY.cross_attention_dim)
    with torch.no_grad():
        assert torch.equal(student.features(latents, text), loaded.features(latents, text))


def test_teacher_is_sd_unet_and_feature_is_pre_norm_out():
    teacher, _ = _pair()
    plain = UNet2DConditionModel(**TINY.teacher_unet_config())
    assert plain.state_dict().keys() == teacher.state_dict().keys()
    latents, text = torch.randn(2, 4, 8, 8), torch.randn(2, 77, TINY.cross_attention_dim)
    with torch.no_grad():
        plain.load_state_dict(teacher.state_dict())
        feature = teacher.features(latents, text)
        out = plain(latents, torch.ones(2), encoder_hidden_states=text).sample
        expected = plain.conv_out(plain.conv_act(plain.conv_norm_out(feature)))
    assert feature.shape == (2, TINY.block_out_channels[0], 8, 8)
    torch.testing.assert_close(out, expected)


def test_sd15_sizes_on_meta():
    preset = get_preset("sd15")
    with torch.device("meta"):
        teacher = build_teacher_unet(preset)
        student = build_student_unet(teacher, preset)
        bk_sdm_tiny = UNet2DConditionModel(**{k: v for k, v in preset.student_unet_config().items()
                                              if k not in ("no_self_attention_levels", "kv_downsample",
                                                           "kv_downsample_mode")})
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(teacher) == 859_520_964
    assert count(bk_sdm_tiny) == 323_384_964
    removed_sa = 3 * (4 * 320 * 320 + 320 + 2 * 320)  # attn1 (q, k, v, out + bias) and norm1
    kv_convs = 3 * (640 * 640 * 4 + 640) + 3 * (1280 * 1280 * 4 + 1280)
    assert kv_convs == 24_581_760
    assert count(student) == 323_384_964 - removed_sa + kv_convs == 346_735_044
    assert student.latent_multiple == 8 and teacher.latent_multiple == 8


def test_kd_points_exist_in_both_unets():
    teacher, student = _pair()
    for s_name, t_name in KD_POINTS.items():
        student.get_submodule(s_name)
        teacher.get_submodule(t_name)
