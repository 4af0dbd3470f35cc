"""The shipped model's golden mattes: the cases, how they are computed, and the writer.

``python tests/shipped_golden.py`` (from the repository root) regenerates
``tests/golden/shipped_matte.npz`` with the current code and the current shipped weights;
run it after reshipping ``tdm/assets/demo`` (and only then: the golden guards that code
changes leave the mattes bit-identical). ``tests/test_shipped_golden.py`` compares.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

GOLDEN = Path(__file__).resolve().parent / "golden" / "shipped_matte.npz"
REGENERATE = "python tests/shipped_golden.py"
PROMPTS = ("the bicycle on the left", "the chair")  # objects of the "wide" frame
# (name, frame, prompt per frame, resolution, square): the default processing (136x200 is
# resized to 174x256 and padded to 192x256), a frame at the model's resolution (its prompt
# names one of that frame's two horses: a prompt for an absent object gives a flat matte,
# which guards nothing), the sparse upsampler (processing at 128 and output at 136x200) and
# the paper's square mode
CASES = (("default", "wide", PROMPTS, None, False),
         ("model_resolution", "square", ("the horse on the left",), None, False),
         ("upsampled", "wide", PROMPTS[:1], 128, False),
         ("square", "wide", PROMPTS[1:], 128, True))


def shipped_folder() -> Path:
    """The model folder users get by default (``tdm/assets/demo``)."""
    from tdm.assets import demo_model

    return demo_model()


def weights_digest(folder: Path) -> str:
    """sha256 over every file of a model folder (relative path and bytes, sorted)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def frames() -> dict[str, np.ndarray]:
    """Input frames (H, W, 3) uint8 from the synthetic test split (stored in the golden
    file, so the comparison does not depend on the generator)."""
    from tdm.data.synthetic import make_scene

    return {"wide": make_scene(np.random.default_rng(11), size=(136, 200), split="test").image,
            "square": make_scene(np.random.default_rng(12), size=256, split="test").image}


def load_shipped():
    """The shipped pipeline on CPU in fp32."""
    import tdm
    from tdm.pipeline import INFERENCE_ONLY

    return tdm.TDMPipeline.from_pretrained(str(shipped_folder()), dtype=torch.float32, **INFERENCE_ONLY)


def mattes(pipe, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{case name: uint8 alpha (N, H, W)} of every case, with one torch thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = {}
        for name, frame, prompts, resolution, square in CASES:
            images = [inputs[frame]] * len(prompts)
            alpha = pipe(images, list(prompts), resolution=resolution, square=square).alpha
            out[name] = np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8)
        return out
    finally:
        torch.set_num_threads(threads)


def main() -> None:
    inputs = frames()
    out = mattes(load_shipped(), inputs)
    GOLDEN.parent.mkdir(exist_ok=True)
    np.savez_compressed(GOLDEN, digest=np.array(weights_digest(shipped_folder())),
                        **{f"frame_{k}": v for k, v in inputs.items()},
                        **{f"alpha_{k}": v for k, v in out.items()})
    print(f"wrote {GOLDEN} ({', '.join(f'{k} {v.shape}' for k, v in out.items())})")


if __name__ == "__main__":
    main()
