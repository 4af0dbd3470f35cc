"""Safetensors only: pickled weight files are refused, and converted only on request.

Unpickling a file can run code, so a model folder whose component holds ``.bin``,
``.pt``, ``.pth`` or ``.ckpt`` weights instead of ``.safetensors`` is not loaded.
``python -m tdm.weights FOLDER`` converts the pickled weights of a folder the user
trusts (read with torch's restricted ``weights_only`` unpickler) to safetensors.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# the names diffusers and transformers look for, by the pickled name they replace
SAFETENSORS_NAMES = {"diffusion_pytorch_model.bin": "diffusion_pytorch_model.safetensors",
                     "pytorch_model.bin": "model.safetensors"}


def pipeline_components(folder: Path) -> list[str]:
    """Component folder names of a diffusers pipeline folder (from model_index.json; every
    subfolder when it is missing or unreadable)."""
    try:
        index = json.loads((folder / "model_index.json").read_text())
        return sorted(k for k, v in index.items() if isinstance(v, list) and v[0] is not None)
    except (OSError, ValueError, AttributeError, IndexError):
        return sorted(p.name for p in folder.iterdir() if p.is_dir())


def pickled_weights(folder: str | Path, components: list[str] | None = None) -> list[Path]:
    """Pickled weight files of a model folder's components (all of them, or the named
    ``components``) that have no safetensors file beside them. Other files, such as a
    training run's own ``checkpoint.pt`` beside the pipeline, are not model weights."""
    folder = Path(folder)
    found = []
    names = pipeline_components(folder) if components is None else components
    for directory in (folder / name for name in names):
        if not directory.is_dir():
            continue
        files = [p for p in sorted(directory.iterdir()) if p.is_file()]
        if any(p.suffix == ".safetensors" for p in files):
            continue
        found.extend(p for p in files if p.suffix in PICKLE_SUFFIXES)
    return found


def refuse_pickled_weights(folder: str | Path, components: list[str] | None = None) -> None:
    """ValueError (one line) if a component of ``folder`` holds only pickled weights."""
    found = pickled_weights(folder, components)
    if found:
        raise ValueError(f"{found[0]}: pickled weights are not loaded (unpickling can run code); "
                         f"if you trust this folder, convert it with: python -m tdm.weights {folder}")


def convert(folder: str | Path) -> list[Path]:
    """Write a safetensors file beside each pickled weight file of ``folder``; returns them."""
    import torch
    from safetensors.torch import save_file

    written = []
    for path in pickled_weights(folder):
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]  # Lightning-style checkpoints
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ValueError(f"{path}: not a plain state dict of tensors; cannot convert")
        target = path.with_name(SAFETENSORS_NAMES.get(path.name, path.stem + ".safetensors"))
        save_file({k: v.contiguous() for k, v in state.items()}, str(target))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdm.weights",
                                     description="Convert a trusted folder's pickled weights to safetensors.")
    parser.add_argument("folder")
    args = parser.parse_args(argv)
    try:
        written = convert(args.folder)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"tdm.weights: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
