"""Check a pipeline folder before loading it, so a bad one is one line that names the
component and what is wrong, not an allocation of 160 GB or a loader report we hide.

Each model component is built from its config.json on the meta device (no memory), its
size counted, and its tensor names and shapes compared with the safetensors headers.
"""
from __future__ import annotations

import importlib
import itertools
import json
import re
from pathlib import Path
from typing import Iterable

import torch

from pipelines.errors import UsageError, one_line

LIBRARIES = ("tdm", "diffusers", "transformers")  # the only modules a check imports
WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "model.safetensors")
GB = 1e9


def check_model_folder(folder: str | Path, dtype: torch.dtype | None = None,
                       device: torch.device | None = None, skip: Iterable[str] = ()) -> None:
    """UsageError (one line, naming the component) when a component's config.json does not
    build its model, or its weights do not match that config; with `dtype`, also when the
    weights cannot fit in the memory of this machine (and of a CUDA `device`). Components
    named in `skip` (those the caller will not load) are not checked."""
    folder = Path(folder)
    models = {name: build_on_meta(cls, folder / name, f"{name} ({cls.__name__})")
              for name, cls in model_components(folder) if name not in set(skip)}
    if dtype is not None:
        check_fits(models, dtype, device or torch.device("cpu"))
    for name, model in models.items():
        check_weights(folder / name, model, f"{name} ({type(model).__name__})")


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub read it."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def hub_cached(repo_id: str) -> bool:
    """True when the Hugging Face cache holds a pipeline of that id."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "model_index.json"), str)
    except ValueError:  # not a valid repository id
        return False


def loader_line(exc: BaseException) -> str:
    """One line from a loader's error: torch's "Error(s) in loading state_dict for X:" keeps
    its first detail line, and pointers to reports or stack traces we do not show go."""
    lines = [" ".join(line.split()) for line in str(exc).splitlines()]
    lines = [line for line in lines if line]
    text = lines[0] if lines else type(exc).__name__
    if text.endswith(":") and len(lines) > 1:
        text = f"{text} {lines[1]}"
    return re.sub(r"\s*(Please check out the root cause in the stacktrace above|"
                  r"For details look at the above report!?)\.?", "", text).strip()


def model_components(folder: Path) -> list[tuple[str, type]]:
    """(name, class) of each component of model_index.json that is a diffusers or
    transformers model; others (tokenizer, unknown libraries) are left to the loader."""
    from diffusers import ModelMixin
    from transformers import PreTrainedModel

    try:
        index = json.loads((folder / "model_index.json").read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"model_index.json cannot be read ({one_line(exc)})") from None
    found = []
    for name, spec in index.items():
        if name.startswith("_") or not (isinstance(spec, list) and len(spec) == 2):
            continue
        library, class_name = spec
        if not (isinstance(library, str) and isinstance(class_name, str)
                and library.split(".")[0] in LIBRARIES):
            continue
        try:
            cls = getattr(importlib.import_module(library), class_name, None)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, (ModelMixin, PreTrainedModel)):
            found.append((name, cls))
    return found


def build_on_meta(cls: type, folder: Path, where: str) -> torch.nn.Module:
    """The model `folder/config.json` describes, with meta tensors (shapes, no storage)."""
    from diffusers import ModelMixin

    try:
        with torch.device("meta"):
            if issubclass(cls, ModelMixin):
                return cls.from_config(cls.load_config(folder))
            return cls._from_config(cls.config_class.from_pretrained(folder))
    except Exception as exc:  # noqa: BLE001 - any failure means the config is not usable
        raise UsageError(f"{where}: config.json does not describe a usable model "
                         f"({one_line(exc)})") from None


def tensors(model: torch.nn.Module) -> list[torch.Tensor]:
    """Parameters and buffers, each shared tensor once."""
    return list({id(t): t for t in itertools.chain(model.parameters(), model.buffers())}.values())


def nbytes(model: torch.nn.Module, dtype: torch.dtype) -> int:
    """Bytes of the model's tensors once floating ones are cast to `dtype`."""
    return sum(t.numel() * (dtype.itemsize if t.is_floating_point() else t.element_size())
               for t in tensors(model))


def check_fits(models: dict[str, torch.nn.Module], dtype: torch.dtype, device: torch.device) -> None:
    """Refuse weights larger than the free memory: the CPU's (where loading happens) and,
    for CUDA, the device's."""
    sizes = {name: nbytes(m, dtype) for name, m in models.items()}
    need = sum(sizes.values())
    largest = max(sizes, key=sizes.get, default=None)
    free = {"memory": available_memory()}
    if device.type == "cuda":
        free[f"{device} memory"] = torch.cuda.mem_get_info(device)[0]
    for what, have in free.items():
        if have is not None and need > have:
            params = sum(t.numel() for t in tensors(models[largest]))
            raise UsageError(
                f"the weights need {_size(need)} at {str(dtype).removeprefix('torch.')}, "
                f"more than the {_size(have)} of free {what}; the largest component, "
                f"{largest} ({type(models[largest]).__name__}), has {params:,} parameters by "
                "its config.json")


def available_memory() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (None where there is no such file)."""
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(r"^MemAvailable:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) * 1024 if match else None


def weight_shapes(folder: Path) -> dict[str, tuple[int, ...]] | None:
    """Tensor name -> shape from the safetensors header(s) the loader reads (a sharded
    index or the single file); None when the folder holds neither."""
    from safetensors import safe_open

    files = []
    for name in WEIGHT_FILES:
        index = folder / f"{name}.index.json"
        if index.is_file():
            try:
                files = sorted({folder / f for f in json.loads(index.read_text())["weight_map"].values()})
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise UsageError(f"{index}: not a weights index ({one_line(exc)})") from None
            break
        if (folder / name).is_file():
            files = [folder / name]
            break
    if not files:
        return None
    shapes = {}
    for path in files:
        try:
            with safe_open(str(path), framework="pt") as f:
                shapes.update({k: tuple(f.get_slice(k).get_shape()) for k in f.keys()})
        except Exception as exc:  # noqa: BLE001 - a damaged header is the user's file
            raise UsageError(f"{path}: not a readable safetensors file ({one_line(exc)})") from None
    return shapes


def check_weights(folder: Path, model: torch.nn.Module, where: str) -> None:
    """The weights must hold every tensor the config builds, each of the same shape, and
    nothing else (a missing tensor would stay random; a stray one belongs elsewhere)."""
    found = weight_shapes(folder)
    if found is None:
        return  # no safetensors: the loader refuses the folder with its own line
    wanted = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    may_miss = _patterns(model, "_keys_to_ignore_on_load_missing") + _tied(model)
    may_add = _patterns(model, "_keys_to_ignore_on_load_unexpected")
    differ = [k for k in wanted if k in found and found[k] != wanted[k]]
    if differ:
        k = differ[0]
        more = f" ({len(differ)} tensors differ)" if len(differ) > 1 else ""
        raise UsageError(f"{where}: weights do not match config.json: {k} is {_shape(found[k])} "
                         f"in the weights but {_shape(wanted[k])} by the config{more}")
    missing = [k for k in wanted if k not in found and not _matches(k, may_miss)]
    if missing:
        raise UsageError(f"{where}: the weights lack {_count(missing, 'tensor')} of the "
                         f"{len(wanted)} config.json asks for (first: {missing[0]})")
    extra = [k for k in found if k not in wanted and not _matches(k, may_add)]
    if extra:
        raise UsageError(f"{where}: the weights hold {_count(extra, 'tensor')} config.json has "
                         f"no place for (first: {extra[0]})")


def _patterns(model: torch.nn.Module, attribute: str) -> list[str]:
    return list(getattr(model, attribute, None) or [])


def _tied(model: torch.nn.Module) -> list[str]:
    """Names transformers ties to another tensor (saved once), as exact patterns."""
    tied = getattr(model, "_tied_weights_keys", None) or []
    return [re.escape(k) for k in tied]


def _matches(key: str, patterns: list[str]) -> bool:
    return any(re.search(p, key) for p in patterns)


def _size(n: int) -> str:
    return f"{n / GB:.1f} GB" if n >= GB / 10 else f"{n / 1e6:.1f} MB"


def _count(items: list, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) or "a scalar"
