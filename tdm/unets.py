"""Teacher (SD-1.5 U-Net) and student (BK-SDM-tiny + the paper's attention changes).

Both are ``TDMUNet``, a ``UNet2DConditionModel`` whose attention processors are
``TDMAttnProcessor`` modules and which keeps the 320-channel decoder feature (the
input of ``conv_norm_out``, taken by a forward pre-hook; ``conv_out`` is untouched so
the config stays diffusers'). Three extra config arguments describe the student:

* ``no_self_attention_levels``: levels whose self-attention is removed (``attn1`` is a
  weightless ``NoSelfAttention`` and ``norm1`` an ``Identity``);
* ``kv_downsample``: per level, k of the kxk stride-k conv on K/V (1 = none);
* ``kv_downsample_mode``: "dense" or "depthwise".

Level i is ``down_blocks.i`` and ``up_blocks.(n-1-i)``. With the defaults the class is
exactly SD's U-Net, so an SD-1.5 ``unet/`` folder loads into it as the teacher. The
timestep is fixed at 1 (paper sec. 4.1).
"""
from __future__ import annotations

import inspect
import math
import re

import torch
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from diffusers.configuration_utils import register_to_config
# diffusers' pipeline loader finds a component's base class by name in its defining module
from diffusers.models.modeling_utils import ModelMixin  # noqa: F401
from torch import nn

from .attention import NoSelfAttention, TDMAttnProcessor, install_spatial_hooks
from .config import Preset

TIMESTEP = 1

# Feature-distillation points: student module -> teacher module (BK-SDM).
KD_POINTS: dict[str, str] = {
    "down_blocks.0": "down_blocks.0",
    "down_blocks.1": "down_blocks.1",
    "down_blocks.2.attentions.0.proj_out": "down_blocks.2.attentions.1.proj_out",
    "up_blocks.0": "up_blocks.1",
    "up_blocks.1": "up_blocks.2",
    "up_blocks.2": "up_blocks.3",
}


class TDMUNet(UNet2DConditionModel):
    """UNet2DConditionModel with capturing processors and the student's options."""

    @register_to_config
    def __init__(self, no_self_attention_levels: tuple[int, ...] = (),
                 kv_downsample: tuple[int, ...] = (), kv_downsample_mode: str = "dense",
                 **kwargs):
        super().__init__(**kwargs)
        n = len(self.config.block_out_channels)
        for level in range(n):
            k = kv_downsample[level] if level < len(kv_downsample) else 1
            for block in self._level_transformer_blocks(level, n):
                channels = block.attn1.to_q.in_features
                if level in no_self_attention_levels:
                    block.attn1 = NoSelfAttention()
                    block.norm1 = nn.Identity()
                else:
                    block.attn1.set_processor(TDMAttnProcessor(channels, k, kv_downsample_mode))
                if block.attn2 is not None:
                    block.attn2.set_processor(TDMAttnProcessor())
        mid = self.mid_block.modules() if self.mid_block is not None else ()
        for module in mid:
            if isinstance(module, BasicTransformerBlock):
                module.attn1.set_processor(TDMAttnProcessor())
                module.attn2.set_processor(TDMAttnProcessor())
        install_spatial_hooks(self)
        self.decoder_feature: torch.Tensor | None = None
        self.conv_norm_out.register_forward_pre_hook(self._keep_feature)

    @staticmethod
    def _get_init_keys(input_class) -> set[str]:
        """Config keys of the class and, for TDMUNet, of UNet2DConditionModel too."""
        keys = set(inspect.signature(input_class.__init__).parameters)
        if isinstance(input_class, type) and issubclass(input_class, TDMUNet):
            keys |= set(inspect.signature(UNet2DConditionModel.__init__).parameters)
        return keys

    @property
    def latent_multiple(self) -> int:
        """Latent sizes must be multiples of this: every downsampler halves, and a
        level-i K/V conv of size k needs 2**i * k (8 for the sd15 student and teacher)."""
        multiple = 2 ** sum(b.downsamplers is not None for b in self.down_blocks)
        for level, k in enumerate(self.config.kv_downsample):
            multiple = math.lcm(multiple, 2**level * k)
        return multiple

    def _level_transformer_blocks(self, level: int, n: int) -> list[BasicTransformerBlock]:
        blocks = [self.down_blocks[level], self.up_blocks[n - 1 - level]]
        return [m for b in blocks for m in b.modules() if isinstance(m, BasicTransformerBlock)]

    def _keep_feature(self, module: nn.Module, args: tuple) -> None:
        self.decoder_feature = args[0]

    def features(self, latents: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """latents (B, 4, h, w), text (B, L, D) -> decoder feature (B, C0, h, w) at t=1."""
        timestep = torch.full((latents.shape[0],), TIMESTEP, device=latents.device)
        self(latents, timestep, encoder_hidden_states=text, return_dict=False)
        feature, self.decoder_feature = self.decoder_feature, None
        return feature


def build_teacher_unet(preset: Preset) -> TDMUNet:
    """The SD-1.5-shaped teacher with random weights (use ``from_pretrained`` for SD's)."""
    return TDMUNet(**preset.teacher_unet_config())


def student_teacher_copy_map(student_keys: list[str], teacher_layers_per_block: int = 2,
                             student_layers_per_block: int = 1) -> dict[str, str]:
    """Student state-dict key -> teacher key (BK-SDM-tiny); new student keys are left out.

    Identical names copy as they are; student ``up_blocks.i`` resnets/attentions
    {0, ..., last} come from teacher ``up_blocks.(i+1)`` {0, ..., last} keeping the
    first and last (for 1 vs 2 layers: {0, 1} <- {0, 2}); upsamplers from
    ``up_blocks.(i+1)``. K/V downsampling convs have no source.
    """
    last_t, last_s = teacher_layers_per_block, student_layers_per_block
    mapping = {}
    for key in student_keys:
        if ".processor." in key:
            continue
        m = re.match(r"up_blocks\.(\d+)\.(resnets|attentions|upsamplers)\.(\d+)\.(.*)", key)
        if m is None:
            mapping[key] = key
            continue
        block, part, index, rest = int(m[1]), m[2], int(m[3]), m[4]
        if part != "upsamplers" and index == last_s:
            index = last_t
        mapping[key] = f"up_blocks.{block + 1}.{part}.{index}.{rest}"
    return mapping


def build_student_unet(teacher: TDMUNet, preset: Preset) -> TDMUNet:
    """BK-SDM-tiny student initialised from ``teacher`` through the copy map.

    On the meta device nothing is copied (there are no values to copy).
    """
    with torch.device(teacher.device):
        student = TDMUNet(**preset.student_unet_config())
    if student.dtype != teacher.dtype:
        student.to(dtype=teacher.dtype)
    if teacher.device.type == "meta":
        return student
    source = teacher.state_dict()
    mapping = student_teacher_copy_map(list(student.state_dict()), teacher.config.layers_per_block,
                                       student.config.layers_per_block)
    with torch.no_grad():
        student.load_state_dict({s: source[t] for s, t in mapping.items()}, strict=False)
    return student
