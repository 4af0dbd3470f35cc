"""--model that cannot be used: a folder that is not there, a hub id that cannot be fetched,
configs that ask for absurd sizes or do not match their weights. Each is one line naming
what is wrong (and the component), exit 2, before any weight is allocated."""
from __future__ import annotations

import json
import re
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

import pipelines.model_check
from pipelines import UsageError
from pipelines.cli import video_main
from pipelines.model_loading import load_inference_pipeline, model_source

CPU = torch.device("cpu")


def load_error(model) -> str:
    with pytest.raises(UsageError) as err:
        load_inference_pipeline(str(model), CPU, torch.float32)
    message = str(err.value)
    assert "\n" not in message and "stacktrace" not in message and "above report" not in message
    return message


@pytest.fixture
def copy_of(model_dir, tmp_path):
    """A fresh copy of the tiny model folder, to damage."""
    def make(name: str = "model"):
        return shutil.copytree(model_dir, tmp_path / name)
    return make


def edit_config(folder, component: str, **changes) -> None:
    path = folder / component / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def edit_weights(folder, component: str, edit) -> None:
    path = next((folder / component).glob("*.safetensors"))
    tensors = load_file(str(path))
    edit(tensors)
    save_file(tensors, str(path))


def test_a_folder_with_one_slash_whose_first_part_is_here_is_a_folder(tmp_path, monkeypatch, capsys,
                                                                       clip_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    monkeypatch.setattr(pipelines.model_check, "hub_offline", lambda: False)  # even online
    with pytest.raises(UsageError, match=r"^--model m/nothere: model folder does not exist$"):
        model_source("m/nothere")
    code = video_main([clip_path, "-p", "x", "-o", str(tmp_path / "o.mov"), "--model", "m/nothere"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0] == "tdm-video: error: --model m/nothere: model folder does not exist"


def test_offline_a_hub_id_not_in_the_cache_is_a_missing_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pipelines.model_check, "hub_offline", lambda: True)
    with pytest.raises(UsageError, match="--model someorg/somemodel: model folder does not exist"):
        model_source("someorg/somemodel")


def test_a_hub_id_that_cannot_be_downloaded_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # model_source takes it for a hub id; the download fails (the tests run offline)
    monkeypatch.setattr(pipelines.model_check, "hub_offline", lambda: False)
    assert model_source("someorg/somemodel") == "someorg/somemodel"
    message = load_error("someorg/somemodel")
    assert message.startswith("--model someorg/somemodel: could not download")
    assert "offline?" in message


@pytest.mark.parametrize("component, changes, needle", [
    ("alpha_head", {"channels": 200000, "in_channels": 200000},
     "alpha_head (AlphaHead): weights do not match config.json: trunk.0.weight is 16x32x3x3 in "
     "the weights but 200000x200000x3x3 by the config (11 tensors differ)"),
    ("alpha_head", {"channels": 24}, "alpha_head (AlphaHead): weights do not match config.json: "
                                     "trunk.0.weight is 16x32x3x3 in the weights but 24x32x3x3"),
    ("vae", {"block_out_channels": [8, 16, 32, 16]}, "vae (AutoencoderKL): weights do not match"),
    ("text_encoder", {"hidden_size": 48},
     "text_encoder (CLIPTextModel): weights do not match config.json: "
     "embeddings.token_embedding.weight is 600x32 in the weights but 600x48"),
    ("alpha_head", {"channels": "many"}, "alpha_head (AlphaHead): config.json does not describe a "
                                         "usable model"),
])
def test_a_config_that_does_not_fit_its_weights_names_component_and_tensor(component, changes, needle,
                                                                          copy_of):
    folder = copy_of()
    edit_config(folder, component, **changes)
    message = load_error(folder)
    assert message.startswith(f"--model {folder}: ") and needle in message, message


def test_missing_and_stray_tensors_are_refused(copy_of):
    lacking, stray = copy_of("lacking"), copy_of("stray")
    edit_weights(lacking, "alpha_head", lambda t: t.pop("out.bias"))
    edit_weights(stray, "text_encoder", lambda t: t.update({"extra.weight": torch.zeros(2)}))
    assert "alpha_head (AlphaHead): the weights lack 1 tensor of the" in load_error(lacking)
    assert ("text_encoder (CLIPTextModel): the weights hold 1 tensor config.json has no place for "
            "(first: extra.weight)") in load_error(stray)


def test_a_damaged_weights_header_is_named(copy_of):
    folder = copy_of()
    path = folder / "unet" / "diffusion_pytorch_model.safetensors"
    path.write_bytes(b"\xff" * 8 + path.read_bytes()[8:])
    assert "diffusion_pytorch_model.safetensors: not a readable safetensors file" in load_error(folder)


def test_weights_larger_than_free_memory_are_refused_before_loading(model_dir, monkeypatch):
    monkeypatch.setattr(pipelines.model_check, "available_memory", lambda: 10 ** 6)
    message = load_error(model_dir)
    assert re.search(r"the weights need \d+\.\d MB at float32, more than the 1\.0 MB of free memory",
                     message), message
    assert "the largest component, unet (TDMUNet)" in message, message


def test_the_check_passes_the_tiny_and_the_shipped_model(model_dir):
    from tdm.assets import demo_model

    for folder in (model_dir, demo_model()):
        pipelines.model_check.check_model_folder(folder, torch.float32, CPU)
