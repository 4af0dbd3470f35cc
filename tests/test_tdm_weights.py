"""Safetensors only: a folder with pickled weights is refused with one line that says how
to convert it, and the conversion gives back the same pipeline."""
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import tdm
from pipelines.cli import video_main
from pipelines_fixtures import clip
from tdm.weights import main as convert_main

PICKLED = {"unet": ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"),
           "text_encoder": ("model.safetensors", "pytorch_model.bin"),
           "decoder": ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.pt")}


def pickle_component(folder, component) -> None:
    safe, pickled = PICKLED[component]
    torch.save(load_file(str(folder / component / safe)), folder / component / pickled)
    (folder / component / safe).unlink()


@pytest.mark.parametrize("component", sorted(PICKLED))
def test_a_pickled_component_is_refused_and_converts_back(tmp_path, model_dir, component, capsys):
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    pickle_component(folder, component)
    with pytest.raises(ValueError, match="pickled weights are not loaded.*python -m tdm.weights"):
        tdm.TDMPipeline.from_pretrained(str(folder))
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    code = video_main([source, "-p", "x", "-o", str(tmp_path / "o.mkv"), "--model", str(folder),
                       "--device", "cpu", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "python -m tdm.weights" in err[0], err
    assert not (tmp_path / "o.mkv").exists()

    assert convert_main([str(folder)]) == 0
    converted = tdm.TDMPipeline.from_pretrained(str(folder))
    original = tdm.TDMPipeline.from_pretrained(model_dir)
    for name in ("unet", "text_encoder", "decoder", "vae"):
        mine, theirs = getattr(converted, name).state_dict(), getattr(original, name).state_dict()
        assert mine.keys() == theirs.keys()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine), name
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    assert converted(image, prompt="x").alpha.shape == (1, 48, 64)


def test_use_safetensors_false_is_refused(model_dir):
    with pytest.raises(ValueError, match="safetensors only"):
        tdm.TDMPipeline.from_pretrained(model_dir, use_safetensors=False)


def test_a_pickle_that_is_not_a_state_dict_is_not_converted(tmp_path, capsys):
    (tmp_path / "unet").mkdir()
    torch.save([1, 2, 3], tmp_path / "unet" / "diffusion_pytorch_model.bin")
    assert convert_main([str(tmp_path)]) == 2
    assert "not a plain state dict" in capsys.readouterr().err
    assert not (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").exists()


def test_a_run_folder_with_its_own_checkpoint_loads(tmp_path, model_dir):
    folder = tmp_path / "run"
    shutil.copytree(model_dir, folder)
    torch.save({"step": 1, "rng": []}, folder / "checkpoint.pt")  # beside the pipeline, not a component
    assert tdm.TDMPipeline.from_pretrained(str(folder)).unet is not None
