"""Presets: every size the model needs, in one dataclass.

``sd15`` has the paper's sizes (SD-1.5 U-Net, CLIP ViT-L/14 text encoder, SD VAE,
512 px processing), ``tiny`` is for tests (a 64 px frame runs in well under a second
on CPU) and ``demo`` is a small real model we train ourselves and ship.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Preset:
    """All sizes of one model family. Student sizes derive from the teacher's."""

    name: str
    # processing resolution (long side, px) and the output cap of the sparse upsampler
    resolution: int
    max_output_side: int = 2048
    # teacher U-Net (SD-1.5 layout); the student keeps the first three levels
    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280)
    attention_head_dim: int = 8  # diffusers' name; for SD-1.5 it is the number of heads
    cross_attention_dim: int = 768
    norm_num_groups: int = 32
    unet_sample_size: int = 64
    # student changes of the paper: no self-attention at these levels, K/V kxk stride-k
    # conv per level (1 = none), dense or depthwise conv
    no_self_attention_levels: tuple[int, ...] = (0,)
    kv_downsample: tuple[int, ...] = (1, 2, 2)
    kv_downsample_mode: str = "dense"
    # CLIP text encoder
    text_vocab_size: int = 49408
    text_hidden_size: int = 768
    text_intermediate_size: int = 3072
    text_layers: int = 12
    text_heads: int = 12
    text_max_length: int = 77
    text_projection_dim: int = 768
    tokenizer_vocab_size: int = 49408
    # text adapter: CLIP-Adapter's (no biases, ReLU after both linears, blend, default init)
    adapter_reduction: int = 4
    adapter_ratio: float = 0.2
    adapter_form: str = "blend"
    adapter_zero_init: bool = False
    adapter_bias: bool = False
    adapter_final_relu: bool = True
    # VAE (only the encoder is used)
    vae_block_out_channels: tuple[int, ...] = (128, 256, 512, 512)
    vae_layers_per_block: int = 2
    vae_norm_num_groups: int = 32
    vae_scaling_factor: float = 0.18215
    # heads, detail decoder, upsampler
    head_channels: int = 128
    decoder: dict[str, Any] = field(default_factory=dict)
    upsampler: dict[str, Any] = field(default_factory=dict)

    @property
    def student_block_out_channels(self) -> tuple[int, ...]:
        """BK-SDM-tiny keeps the first three levels of the teacher."""
        return tuple(self.block_out_channels[:3])

    @property
    def feature_channels(self) -> int:
        """Channels of the decoder feature before conv_norm_out (320 for SD-1.5)."""
        return self.block_out_channels[0]

    def teacher_unet_config(self) -> dict[str, Any]:
        """UNet2DConditionModel kwargs of the SD-1.5-shaped teacher."""
        n = len(self.block_out_channels)
        return dict(
            sample_size=self.unet_sample_size,
            in_channels=4,
            out_channels=4,
            down_block_types=("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1),
            block_out_channels=tuple(self.block_out_channels),
            layers_per_block=2,
            cross_attention_dim=self.cross_attention_dim,
            attention_head_dim=self.attention_head_dim,
            norm_num_groups=self.norm_num_groups,
        )

    def student_unet_config(self) -> dict[str, Any]:
        """BK-SDM-tiny kwargs plus the paper's attention changes (TDMUNet extras)."""
        config = self.teacher_unet_config()
        config.update(
            down_block_types=("CrossAttnDownBlock2D",) * 3,
            up_block_types=("CrossAttnUpBlock2D",) * 3,
            block_out_channels=self.student_block_out_channels,
            layers_per_block=1,
            mid_block_type=None,
            no_self_attention_levels=tuple(self.no_self_attention_levels),
            kv_downsample=tuple(self.kv_downsample),
            kv_downsample_mode=self.kv_downsample_mode,
        )
        return config

    def text_config(self) -> dict[str, Any]:
        """CLIPTextConfig kwargs; token ids follow tdm.text.build_tokenizer's layout."""
        return dict(
            vocab_size=self.text_vocab_size,
            hidden_size=self.text_hidden_size,
            intermediate_size=self.text_intermediate_size,
            num_hidden_layers=self.text_layers,
            num_attention_heads=self.text_heads,
            max_position_embeddings=self.text_max_length,
            projection_dim=self.text_projection_dim,
            hidden_act="quick_gelu",
            bos_token_id=self.tokenizer_vocab_size - 2,
            eos_token_id=self.tokenizer_vocab_size - 1,
            pad_token_id=self.tokenizer_vocab_size - 1,
        )

    def vae_config(self) -> dict[str, Any]:
        """AutoencoderKL kwargs with an 8x downsampling encoder."""
        n = len(self.vae_block_out_channels)
        return dict(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * n,
            up_block_types=("UpDecoderBlock2D",) * n,
            block_out_channels=tuple(self.vae_block_out_channels),
            layers_per_block=self.vae_layers_per_block,
            latent_channels=4,
            norm_num_groups=self.vae_norm_num_groups,
            sample_size=self.resolution,
            scaling_factor=self.vae_scaling_factor,
        )

    def decoder_config(self) -> dict[str, Any]:
        """DetailDecoder kwargs: features are the student's 320-channel map."""
        return {"feature_channels": self.feature_channels, **self.decoder}


_PRESETS: dict[str, Preset] = {
    # decoder: DetailDecoder's defaults (ViTMatte's detail capture, direct alpha, 2.68M);
    # the upsampler reads the decoder's 32-channel context feature
    "sd15": Preset(name="sd15", resolution=512, tokenizer_vocab_size=1024,
                   upsampler=dict(context_channels=32)),
}
_PRESETS["tiny"] = replace(
    _PRESETS["sd15"],
    name="tiny",
    resolution=64,
    block_out_channels=(32, 64, 64, 64),
    attention_head_dim=2,
    cross_attention_dim=32,
    norm_num_groups=8,
    unet_sample_size=8,
    text_vocab_size=600,
    text_hidden_size=32,
    text_intermediate_size=64,
    text_layers=2,
    text_heads=2,
    text_projection_dim=32,
    tokenizer_vocab_size=600,
    vae_block_out_channels=(8, 16, 16, 16),
    vae_layers_per_block=1,
    vae_norm_num_groups=8,
    head_channels=16,
    decoder=dict(align_channels=16, stream_channels=(8, 16, 16), fusion_channels=(16, 16, 8, 8),
                 head_channels=8),
    upsampler=dict(hidden_channels=8, context_channels=8),
)
_PRESETS["demo"] = replace(
    _PRESETS["sd15"],
    name="demo",
    resolution=256,
    # U-Net widths halved from 64-128-256-256 (2026-12-05): on the 2 CPU cores a semantic
    # step at 128 px, batch 8, costs 1.6 s instead of 3.0 s (benchmarks/bench_train_step.py),
    # and the teacher a shipped or kept folder holds is 18 MB in fp16 instead of 70
    block_out_channels=(32, 64, 128, 128),
    attention_head_dim=4,
    cross_attention_dim=256,
    unet_sample_size=32,
    text_vocab_size=1024,
    text_hidden_size=256,
    text_intermediate_size=1024,
    text_layers=4,
    text_heads=4,
    text_projection_dim=256,
    tokenizer_vocab_size=1024,
    # trained with the teacher (no pretrained VAE), 1.2 GMACs at 256 px: a 32-channel
    # first level cost 4.6, more than the student U-Net (2.0)
    vae_block_out_channels=(16, 32, 64, 64),
    vae_layers_per_block=1,
    vae_norm_num_groups=8,
    head_channels=32,
    decoder=dict(align_channels=64, stream_channels=(24, 48, 96), fusion_channels=(128, 64, 32, 16),
                 head_channels=16, residual=True),
    upsampler=dict(hidden_channels=16, context_channels=16),
)

PRESET_NAMES: tuple[str, ...] = tuple(_PRESETS)


def get_preset(name: str | Preset) -> Preset:
    """Return the preset called ``name`` ("sd15", "tiny" or "demo"); a Preset passes through."""
    if isinstance(name, Preset):
        return name
    try:
        return _PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}") from None
