"""Annotation tools of the paper (section 4.1, appendix 6.2.1): BLIP-2 captions for the
caption-less matting sets, and alpha mattes for RefCOCO masks from a morphological
trimap with ViTMatte (transformers) or, without weights, closed-form matting (pymatting).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from media import list_images

from .io import read_rgb

CAPTION_PROMPT = "Describe the foreground in the picture, including its clothing, appearance, or behavior."


def _load_blip2(model: Any, processor: Any) -> tuple[Any, Any]:
    from transformers import Blip2ForConditionalGeneration, Blip2Processor

    if isinstance(model, (str, Path)):
        processor = processor or Blip2Processor.from_pretrained(str(model))
        model = Blip2ForConditionalGeneration.from_pretrained(str(model), use_safetensors=True)
    if processor is None:
        raise ValueError("caption_images: pass a processor with a model object")
    return model.eval(), processor


@torch.no_grad()
def caption_images(images: str | Path, output: str | Path, model: Any, processor: Any = None,
                   prompt: str = CAPTION_PROMPT, batch_size: int = 8, max_new_tokens: int = 40,
                   device: str = "cpu") -> dict[str, str]:
    """Caption every image of the folder ``images`` with BLIP-2 and write ``output`` JSON
    {file name: caption} (the captions file the p3m/am2k/rm1k loaders read).

    ``model``: a BLIP-2 folder / hub id or a ``Blip2ForConditionalGeneration``;
    ``processor``: its ``Blip2Processor`` (loaded from the folder when omitted)."""
    model, processor = _load_blip2(model, processor)
    model = model.to(device)
    files = list_images(images)
    captions: dict[str, str] = {}
    for start in range(0, len(files), batch_size):
        chunk = files[start:start + batch_size]
        inputs = processor(images=[read_rgb(f) for f in chunk], text=[prompt] * len(chunk),
                           return_tensors="pt", padding=True).to(device)
        out = model.generate(**inputs, max_new_tokens=max_new_tokens)
        new = out[:, inputs["input_ids"].shape[1]:] if out.shape[1] > inputs["input_ids"].shape[1] else out
        for f, text in zip(chunk, processor.batch_decode(new, skip_special_tokens=True)):
            captions[f.name] = text.strip()
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(captions, indent=1, ensure_ascii=False), encoding="utf-8")
    return captions


def trimap_from_mask(mask: np.ndarray, kernel: int = 15) -> np.ndarray:
    """(H,W) trimap in {0, 0.5, 1}: eroded mask = 1, outside the dilated mask = 0."""
    binary = (np.asarray(mask) > 0.5).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
    fg = cv2.erode(binary, k)
    maybe = cv2.dilate(binary, k)
    trimap = np.full(binary.shape, 0.5, np.float64)
    trimap[fg == 1] = 1.0
    trimap[maybe == 0] = 0.0
    return trimap


@torch.no_grad()
def _vitmatte(image: np.ndarray, trimap: np.ndarray, model: Any, processor: Any) -> np.ndarray:
    from transformers import VitMatteForImageMatting, VitMatteImageProcessor

    if isinstance(model, (str, Path)):
        processor = processor or VitMatteImageProcessor.from_pretrained(str(model))
        model = VitMatteForImageMatting.from_pretrained(str(model), use_safetensors=True)
    processor = processor or VitMatteImageProcessor()
    inputs = processor(images=image, trimaps=(trimap * 255).astype(np.uint8), return_tensors="pt")
    alphas = model.eval()(**inputs).alphas  # (1,1,H',W') padded to a multiple of 32
    h, w = trimap.shape
    return alphas[0, 0, :h, :w].float().numpy()


def alpha_from_mask(image: np.ndarray, mask: np.ndarray, model: Any = None, processor: Any = None,
                    kernel: int = 15) -> np.ndarray:
    """Alpha (H,W) float32 in [0,1] for a binary instance ``mask`` on ``image`` (H,W,3) uint8.

    A morphological trimap (``kernel``) is solved by ViTMatte when ``model`` (a folder /
    hub id or a ``VitMatteForImageMatting``) is given, else by closed-form matting."""
    trimap = trimap_from_mask(mask, kernel)
    if model is not None:
        alpha = _vitmatte(image, trimap, model, processor)
    else:
        from pymatting import estimate_alpha_cf

        alpha = estimate_alpha_cf(image.astype(np.float64) / 255.0, trimap)
    alpha = np.where(trimap == 1.0, 1.0, np.where(trimap == 0.0, 0.0, alpha))
    return alpha.clip(0, 1).astype(np.float32)
