"""Does a model's VAE latent carry what referring texts name? Probes of colour, pattern and
category per instance, from the latent and from the pixels, printed as one JSON line.

    python benchmarks/probe_latent.py --model training/demo [--scenes 600] [--side 128] [--random]

For each instance of the synthetic generator's scenes (train split to fit, val split to
score: families, patterns and backgrounds the fit never saw) the features are the mean and
standard deviation, over the instance, of the latent (4 x 1/8 grid: its cells at least 75%
inside the instance) and of the RGB pixels (as given, and normalised over the image, which
is what a GroupNorm keeps). A linear and a one-hidden-layer probe (L-BFGS, weight decay
1e-3) predict each label; each entry is [accuracy, majority-class accuracy, classes].
`--random` probes a freshly initialised encoder of the same config (the control).
`psnr` is the VAE's reconstruction (its decoder on the latent's mode) of the first 64 val
scenes, in dB (SD-1.5's VAE: ~25 dB on natural images).
Session 13: round 12's jointly trained encoder gives colour 0.22 from the latent against
0.90 from the pixels (docs/DEMO_MODEL.md "Next rounds").
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from diffusers import AutoencoderKL

from tdm.data.synthetic import SyntheticMattingDataset
from tdm.forward import encode_latents
from tdm.losses import psnr

LABELS = ("colour", "pattern", "category")
FEATURES = ("latent", "rgb", "rgb_imagenorm")
INSIDE = 0.75  # a latent cell counts for an instance when this much of it is inside


def _as_image(scene) -> torch.Tensor:
    """A generated scene's image (3,H,W) in [-1,1], as the model takes it."""
    return torch.from_numpy(scene.image).permute(2, 0, 1).float() / 127.5 - 1


def _mean_std(values: torch.Tensor) -> np.ndarray:
    """(C,N) values -> (2C,) mean and standard deviation over N."""
    std = values.std(1) if values.shape[1] > 1 else torch.zeros(values.shape[0])
    return torch.cat([values.mean(1), std]).numpy().astype(np.float32)


def instance_rows(vae: AutoencoderKL, split: str, seed: int, scenes: int, side: int) -> list[dict]:
    """One row per visible instance: its features (FEATURES) and labels (LABELS)."""
    data = SyntheticMattingDataset(size=side, split=split, seed=seed, augment=False)
    rows = []
    for index in range(scenes):
        scene, _, _ = data.scene(index)
        image = _as_image(scene)
        with torch.no_grad():
            latent = encode_latents(vae, image[None])[0]  # (4,H/8,W/8), as the model sees it
        pixels = image.reshape(3, -1)
        normalised = (image - pixels.mean()) / (pixels.std() + 1e-6)
        for alpha, info in zip(scene.alphas, scene.infos):
            mask = torch.from_numpy(alpha)
            cells = torch.nn.functional.adaptive_avg_pool2d(mask[None, None], latent.shape[1:])[0, 0] > INSIDE
            if info.area < 0.01 or not cells.any():
                continue
            inside = mask > 0.5
            pattern = next((p for p in ("striped", "spotted") if p in info.attributes), "plain")
            rows.append({"latent": _mean_std(latent[:, cells]), "rgb": _mean_std(image[:, inside]),
                         "rgb_imagenorm": _mean_std(normalised[:, inside]),
                         "colour": info.colour, "pattern": pattern, "category": info.category})
    return rows


@torch.no_grad()
def reconstruction_psnr(vae: AutoencoderKL, scenes: int, side: int) -> float:
    """Mean PSNR (dB, [0,1] images) of the VAE's decoded latent mode over val scenes."""
    data = SyntheticMattingDataset(size=side, split="val", seed=6, augment=False)
    values = []
    for index in range(scenes):
        image = _as_image(data.scene(index)[0])[None]
        decoded = vae.decode(encode_latents(vae, image) / vae.config.scaling_factor).sample
        values.append(float(psnr(decoded, image)))
    return round(float(np.mean(values)), 2)


def probe_accuracy(train: list[dict], val: list[dict], feature: str, label: str, hidden: int = 0
                   ) -> list[float]:
    """[val accuracy, majority-class accuracy, classes] of a probe fit on ``train``."""
    classes = sorted({r[label] for r in train + val})
    x = torch.tensor(np.stack([r[feature] for r in train]))
    xv = torch.tensor(np.stack([r[feature] for r in val]))
    mean, std = x.mean(0), x.std(0) + 1e-6
    x, xv = (x - mean) / std, (xv - mean) / std
    y = torch.tensor([classes.index(r[label]) for r in train])
    yv = torch.tensor([classes.index(r[label]) for r in val])
    torch.manual_seed(0)
    head = (torch.nn.Linear(x.shape[1], len(classes)) if not hidden else torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, len(classes))))
    optimiser = torch.optim.LBFGS(head.parameters(), max_iter=500)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(x), y)
        loss = loss + 1e-3 * sum(p.pow(2).sum() for p in head.parameters())
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        accuracy = float((head(xv).argmax(1) == yv).float().mean())
    majority = float(np.bincount(yv.numpy(), minlength=len(classes)).max() / len(yv))
    return [round(accuracy, 3), round(majority, 3), len(classes)]


def probe_latent(vae: AutoencoderKL, scenes: int, side: int) -> dict:
    """Every probe of LABELS x FEATURES, linear and with 64 hidden units."""
    train = instance_rows(vae, "train", 5, scenes, side)
    val = instance_rows(vae, "val", 6, scenes, side)
    out: dict = {"instances": [len(train), len(val)], "side": side,
                 "psnr": reconstruction_psnr(vae, min(scenes, 64), side)}
    for label in LABELS:
        out[label] = {}
        for feature in FEATURES:
            out[label][feature] = probe_accuracy(train, val, feature, label)
            out[label][f"{feature}_mlp"] = probe_accuracy(train, val, feature, label, hidden=64)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a pipeline folder with a vae/ subfolder")
    ap.add_argument("--scenes", type=int, default=600, help="scenes of each split")
    ap.add_argument("--side", type=int, default=128, help="the scenes' side in px (the model's processing side)")
    ap.add_argument("--random", action="store_true", help="a freshly initialised encoder of the same config")
    args = ap.parse_args()
    vae = AutoencoderKL.from_pretrained(args.model, subfolder="vae").float().eval()
    if args.random:
        torch.manual_seed(0)
        vae = AutoencoderKL.from_config(vae.config).float().eval()
    result = {"model": args.model, "random": args.random, **probe_latent(vae, args.scenes, args.side)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
