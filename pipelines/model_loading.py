"""Loading the model for inference: --device / --dtype resolved, --model resolved to a
checked folder, hub id or the shipped demo, and the pipeline loaded on the device, quietly.

Frames become mattes in `pipelines.frame_matter`.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import torch

from pipelines.errors import UsageError
from pipelines.options import DTYPES


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' without CUDA is a UsageError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: CUDA is not available on this machine (use --device cpu)")
    return torch.device(name)


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "fp16" and device.type == "cpu":
        raise UsageError("--dtype fp16 needs CUDA; use fp32 or bf16 on the CPU")
    return getattr(torch, DTYPES[name])


def model_source(model: object) -> object:
    """The model to load: a given folder / hub id / pipeline, or the shipped demo.

    A folder is checked (each component's config.json against its weights) here, before
    Ray or a loader starts. A name is a hub id ("org/name") only when it cannot be a
    folder: two parts, not spelled as a path, its first part not a folder here, and, with
    HF_HUB_OFFLINE=1, a model already in the Hugging Face cache.
    """
    from pipelines.model_check import check_model_folder, hub_cached, hub_offline
    from tdm.assets import demo_model
    from tdm.pipeline import TRAINING_ONLY

    if model is None:
        demo = demo_model()
        if not (demo / "model_index.json").is_file():
            raise UsageError(f"the shipped demo model is missing ({demo}); "
                             "pass --model PATH to a trained pipeline folder")
        return str(demo)
    if not isinstance(model, (str, Path)):
        return model
    text = str(model)
    path = Path(text).expanduser()
    looks_like_path = (path.exists() or text.startswith((".", "/", "~")) or text.count("/") != 1
                       or Path(text.split("/")[0]).expanduser().exists())
    if not looks_like_path and hub_offline() and not hub_cached(text):
        raise UsageError(f"--model {text}: model folder does not exist (nor is it a Hub model "
                         "in the local cache; HF_HUB_OFFLINE=1 forbids downloading it)")
    if not looks_like_path:
        return text
    if not (path / "model_index.json").is_file():
        what = "has no model_index.json" if path.is_dir() else "does not exist"
        raise UsageError(f"--model {text}: model folder {what}")
    try:
        check_model_folder(path, skip=TRAINING_ONLY)
    except UsageError as exc:
        raise UsageError(f"--model {text}: {exc}") from None
    return str(path)


def load_inference_pipeline(model: object, device: torch.device, dtype: torch.dtype):
    """A TDMPipeline on `device` in `dtype`, from a folder, hub id, or as given.

    A hub id is downloaded first (to the Hugging Face cache); the folder is then checked
    (configs, weights, and that the weights fit in memory) before anything is allocated.
    Training-only components a folder may hold (the teacher) are neither checked nor loaded.
    """
    import tdm
    from tdm.pipeline import INFERENCE_ONLY, TRAINING_ONLY
    from pipelines.model_check import check_model_folder, loader_line

    source = model_source(model)
    if isinstance(source, str):
        with quiet_loading():
            folder = source
            if not Path(source).is_dir():
                try:
                    folder = tdm.TDMPipeline.download(source, use_safetensors=True)
                except Exception:  # noqa: BLE001 - network, no such repository, offline
                    raise UsageError(f"--model {source}: could not download this model from "
                                     "the Hugging Face Hub (offline? no such model?)") from None
            try:
                check_model_folder(folder, dtype, device, skip=TRAINING_ONLY)
                pipe = tdm.TDMPipeline.from_pretrained(str(folder), dtype=dtype, **INFERENCE_ONLY)
            except UsageError as exc:
                raise UsageError(f"--model {source}: {exc}") from None
            except (OSError, ValueError, RuntimeError, MemoryError) as exc:
                raise UsageError(f"--model {source}: cannot load ({loader_line(exc)})") from None
    else:
        pipe = source
    pipe = pipe.to(device)
    return pipe if pipe.dtype == dtype else pipe.to(dtype=dtype)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """No diffusers/transformers progress bars or advice while a pipeline loads."""
    import diffusers
    import transformers

    levels = (diffusers.logging.get_verbosity(), transformers.logging.get_verbosity())
    diffusers.logging.set_verbosity_error()
    transformers.logging.set_verbosity_error()
    diffusers.logging.disable_progress_bar()
    transformers.logging.disable_progress_bar()
    try:
        yield
    finally:
        diffusers.logging.enable_progress_bar()
        transformers.logging.enable_progress_bar()
        diffusers.logging.set_verbosity(levels[0])
        transformers.logging.set_verbosity(levels[1])
