"""The stage interface every training stage implements.

A stage is an ``nn.Module`` that owns the modules of one training stage. It says which
of them train (``trainable``), runs the forward and returns the loss terms, predicts
alpha for validation, and hands back the pipeline to save at the end. The registry of
the four stages is ``tdm.train.stages.STAGES``.
"""
from __future__ import annotations

import abc
from typing import Any, ClassVar

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from torch import nn

from tdm.forward import encode_latents, encode_prompt


class Stage(nn.Module, abc.ABC):
    """Base of the four stages.

    Subclasses set ``name`` and fill ``self.trainable`` (an ``nn.ModuleDict`` of the
    modules whose parameters the optimiser updates and the checkpoint stores); every
    other module is frozen and kept in eval mode.
    """

    name: ClassVar[str]
    # the exported pipeline processes at the side the stage trained at; the upsampler stage
    # trains a refinement from smaller inputs and keeps its --init folder's side
    sets_processing_side: ClassVar[bool] = True

    @classmethod
    def check_side(cls, pipe: Any, side: int) -> None:
        """ValueError unless the stage can train ``pipe`` on samples of ``side`` px (the
        image processor's resolution rule)."""
        pipe.image_processor.check_resolution(side)

    def __init__(self, pipe: Any):
        """pipe: the TDMPipeline whose modules the stage trains in place."""
        super().__init__()
        self.pipe = pipe
        self.trainable = nn.ModuleDict()
        self.tokenizer = pipe.tokenizer
        self.vae, self.text_encoder, self.text_adapter = pipe.vae, pipe.text_encoder, pipe.text_adapter
        self.freeze(self.vae, self.text_encoder)

    def encode(self, batch: dict[str, Any], posterior: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(latents (B,4,H/8,W/8), adapted text features (B,L,D)) of a batch, encoded as
        at inference (``tdm.forward``; the latents from ``posterior``, the VAE's of the
        batch's images, when the caller has it)."""
        latents = encode_latents(self.vae, batch["image"], posterior)
        return latents, encode_prompt(self.tokenizer, self.text_encoder, self.text_adapter, batch["text"])

    def set_trainable(self, **modules: nn.Module) -> None:
        """Add ``modules`` to ``trainable`` with gradients on. Parts that never run stay
        frozen (DDP needs every trained parameter to get a gradient): a U-Net's latent
        output layers (the heads read the feature before ``conv_norm_out``) and a VAE's
        decoder (only the encoder runs)."""
        for name, module in modules.items():
            self.trainable[name] = module.requires_grad_(True)
            if isinstance(module, UNet2DConditionModel):
                module.conv_norm_out.requires_grad_(False)
                module.conv_out.requires_grad_(False)
            if isinstance(module, AutoencoderKL):
                module.decoder.requires_grad_(False)
                module.post_quant_conv.requires_grad_(False)

    def freeze(self, *modules: nn.Module | None) -> None:
        """Stop gradients and keep ``modules`` in eval mode."""
        for module in modules:
            if module is not None:
                module.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> "Stage":
        """Only the trainable modules follow ``mode``; frozen ones stay in eval."""
        self.training = mode
        self.trainable.train(mode)
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.trainable.parameters() if p.requires_grad]

    def parameter_groups(self, lrs: dict[str, float | None]) -> list[dict[str, Any]]:
        """Optimiser groups: one per trainable module named in ``lrs`` with a value (that
        lr), the rest in one group at the optimiser's lr."""
        groups, rest = [], []
        for name, module in self.trainable.items():
            params = [p for p in module.parameters() if p.requires_grad]
            if lrs.get(name) is not None:
                groups.append({"params": params, "lr": lrs[name]})
            else:
                rest.extend(params)
        return [{"params": rest}] + groups

    @abc.abstractmethod
    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Loss terms of one micro-batch; key ``loss`` is the weighted total."""

    @abc.abstractmethod
    def predict_alpha(self, batch: dict[str, Any]) -> torch.Tensor:
        """(B,1,H,W) alpha in [0,1] at the size of ``batch['alpha']`` (validation)."""

    def export(self) -> Any:
        """The TDMPipeline to save at the end of the stage."""
        return self.pipe

