"""Stage 2, soft grounding in transparency (sec. 3.2.2): the student, copied from the
stage-1 teacher through the BK-SDM map, learns alpha_lr and R under the five losses of
eq. (9) while the teacher stays frozen."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tdm import losses
from tdm.config import Preset
from tdm.heads import Projections
from tdm.forward import run_student, run_teacher
from tdm.unets import KD_POINTS, build_student_unet

from .base import Stage
from .targets import low_res, regions


def out_channels(module: nn.Module) -> int:
    """Channels of a KD point's output: a U-Net block (its last resnet) or a layer."""
    if hasattr(module, "resnets"):
        return module.resnets[-1].out_channels
    return module.out_channels if isinstance(module, nn.Conv2d) else module.out_features


class TransparencyStage(Stage):
    """Trains the student ``unet``, ``alpha_head`` and the projections Phi (``projections``,
    kept in the output folder for training only, so that a later run continues them too).

    Needs a pipeline with a trained teacher (``--init`` a semantic-stage output). The
    student is rebuilt from that teacher at the start of the stage (``build_stage`` then
    puts back the --init folder's student and projections if that folder already trained
    this stage).
    """

    name = "transparency"

    def __init__(self, pipe: Any, preset: Preset,
                 weights: losses.LossWeights = losses.LossWeights()):
        super().__init__(pipe)
        if pipe.teacher_unet is None:
            raise ValueError("the transparency stage needs a teacher: --init the output "
                             "folder of the semantic stage")
        self.weights = weights
        self.teacher, self.semantic_head = pipe.teacher_unet, pipe.semantic_head
        self.freeze(self.teacher, self.semantic_head, self.text_adapter)
        pipe.register_modules(unet=build_student_unet(self.teacher, preset))
        points = tuple(KD_POINTS)
        pipe.register_modules(projections=Projections(
            points=points,
            in_channels=tuple(out_channels(pipe.unet.get_submodule(p)) for p in points),
            out_channels=tuple(out_channels(self.teacher.get_submodule(KD_POINTS[p]))
                               for p in points)).to(self.teacher.device))
        self.set_trainable(unet=pipe.unet, alpha_head=pipe.alpha_head,
                           projections=pipe.projections)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        alpha = batch["alpha"]
        latents, text = self.encode(batch)
        with torch.no_grad():
            teacher = run_teacher(self.teacher, self.semantic_head, latents, text, alpha)
        student = run_student(self.trainable["unet"], self.trainable["alpha_head"], latents,
                              text, alpha)
        _, mask = regions(alpha)
        projected = self.trainable["projections"](student.kd_features)
        size = student.alpha_lr.shape[-2:]
        terms = {
            "stm": losses.self_attention_transparency(student.self_attention_alpha,
                                                      teacher.self_attention_alpha),
            "ctm": losses.cross_attention_transparency(student.cross_attention,
                                                       teacher.cross_attention),
            "sg": losses.semantic_guidance([projected[p] for p in KD_POINTS],
                                           [teacher.kd_features[t] for t in KD_POINTS.values()],
                                           mask),
            "alpha": losses.alpha_l1(student.alpha_lr, low_res(alpha, size)),
            "confidence": losses.confidence_bce(student.confidence_logits,
                                                losses.mask_at(mask, tuple(size))),
        }
        return {"loss": losses.distillation_total(terms, self.weights), **terms}

    @torch.no_grad()
    def predict_alpha(self, batch: dict[str, Any]) -> torch.Tensor:
        """alpha_lr upsampled bilinearly to the GT size."""
        latents, text = self.encode(batch)
        out = run_student(self.trainable["unet"], self.trainable["alpha_head"], latents, text,
                          capture=False)
        return self.pipe.image_processor.resize(out.alpha_lr.float(), batch["alpha"].shape[-2:])
