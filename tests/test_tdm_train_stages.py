"""The four training stages on the tiny preset and synthetic data, chained through
--init as a user runs them: each loss falls, stage 2's student comes from stage 1's
teacher, each output folder is a loadable TDMPipeline."""
import json
from statistics import mean

import numpy as np
import pytest
import torch

import tdm
from tdm.train import TrainConfig, train
from tdm.train.batches import collate
from tdm.config import get_preset
from tdm.decoder import DetailDecoder
from tdm.train.stages import MattingStage, UpsamplerStage
from tdm.train.setup import build_stage, data_resolution, open_data, processing_side
from tdm.unets import student_teacher_copy_map

DATA = "synthetic:length=12,max_objects=2"
# (stage, steps, lr): a few dozen steps at a raised lr on a dozen samples
PLAN = [("semantic", 24, 1e-3), ("transparency", 24, 1e-3), ("matting", 24, 1e-2),
        ("upsampler", 16, 1e-2)]
# the upsampler stage runs the decoder at 1/4 of the side, which must stay a multiple of 64
STAGE_OPTIONS = {"upsampler": {"resolution": 256}}


@pytest.fixture(scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 busy cores: one thread per process is faster
    yield
    torch.set_num_threads(threads)


def config(stage: str, output, steps: int, lr: float, init=None, **extra) -> TrainConfig:
    return TrainConfig(preset="tiny", stage=stage, data=DATA, output=str(output), max_steps=steps,
                       batch_size=2, lr=lr, init=init and str(init), val_size=2, progress=False,
                       **{**STAGE_OPTIONS.get(stage, {}), **extra})


def records(output) -> list[dict]:
    return [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def chain(tmp_path_factory, one_thread):
    """Runs the four stages, each from the previous one's output folder."""
    root, init, runs = tmp_path_factory.mktemp("stages"), None, {}
    for stage, steps, lr in PLAN:
        out = root / stage
        train(config(stage, out, steps, lr, init))
        runs[stage], init = out, out
    return runs


@pytest.mark.parametrize("stage", [s for s, _, _ in PLAN])
def test_loss_falls_and_metrics_are_logged(chain, stage):
    logged = records(chain[stage])
    steps = dict((s, n) for s, n, _ in PLAN)[stage]
    assert [r["step"] for r in logged] == list(range(1, steps + 1))
    first, last = mean(r["loss"] for r in logged[:5]), mean(r["loss"] for r in logged[-5:])
    assert last < 0.9 * first, (stage, first, last)
    terms = {"semantic": {"ce"}, "transparency": {"stm", "ctm", "sg", "alpha", "confidence"},
             "matting": {"l1", "laplacian"}, "upsampler": {"l1", "laplacian"}}[stage]
    assert terms | {"loss", "lr", "seconds"} <= set(logged[0])
    assert {"val_sad", "val_mse", "val_grad", "val_conn"} <= set(logged[-1])
    assert logged[0]["lr"] > logged[-1]["lr"] > 0  # poly decay


def test_outputs_are_loadable_pipelines(chain):
    semantic = tdm.TDMPipeline.from_pretrained(chain["semantic"])
    assert semantic.teacher_unet is not None and semantic.semantic_head is not None
    pipe = tdm.TDMPipeline.from_pretrained(chain["upsampler"])
    assert pipe.teacher_unet is not None  # kept without pretrained weights: stage 1 can restart
    image = np.random.default_rng(0).integers(0, 255, (40, 56, 3), dtype=np.uint8)
    alpha = pipe(image, prompt="the dog").alpha
    assert alpha.shape == (1, 40, 56) and 0 <= alpha.min() <= alpha.max() <= 1


def test_transparency_student_comes_from_the_stage1_teacher(chain, tmp_path):
    teacher = tdm.TDMPipeline.from_pretrained(chain["semantic"]).teacher_unet.state_dict()
    stage = build_stage(config("transparency", tmp_path, 1, 1e-3, chain["semantic"]))
    student = stage.trainable["unet"].state_dict()
    mapping = student_teacher_copy_map(list(student))
    assert len(mapping) > 0.9 * len(student)
    for s_key, t_key in mapping.items():
        assert torch.equal(student[s_key], teacher[t_key]), s_key
    assert all(torch.equal(v, teacher[k]) for k, v in stage.teacher.state_dict().items())
    assert not any(p.requires_grad for p in stage.teacher.parameters())
    trained = tdm.TDMPipeline.from_pretrained(chain["transparency"]).unet.state_dict()
    assert any(not torch.equal(trained[k], student[k]) for k in mapping)


@pytest.mark.parametrize("stage", [s for s, _, _ in PLAN])
def test_every_trained_parameter_gets_a_gradient(stage, tmp_path, one_thread):
    """DDP needs it; frozen parts (VAE, CLIP, previous stages) get none."""
    cfg = config(stage, tmp_path, 1, 1e-3)
    data, _ = open_data(cfg, 2)
    module = build_stage(cfg).train()
    module(collate([data[0], data[1]]))["loss"].backward()
    trained = {id(p) for p in module.trainable_parameters()}
    assert trained
    for name, p in module.named_parameters():
        assert (p.grad is not None) == (id(p) in trained), name


def test_gradient_checkpointing_gives_the_same_gradients(tmp_path, one_thread):
    grads = []
    for checkpointing in (False, True):
        cfg = config("semantic", tmp_path, 1, 1e-3, gradient_checkpointing=checkpointing)
        data, _ = open_data(cfg, 2)
        module = build_stage(cfg).train()
        terms = module(collate([data[0], data[1]]))
        terms["loss"].backward()
        grads.append((terms, {n: p.grad for n, p in module.trainable.named_parameters()
                              if p.grad is not None}))
    (t0, g0), (t1, g1) = grads
    assert module.trainable["teacher_unet"].is_gradient_checkpointing
    assert all(torch.allclose(t0[k], t1[k]) for k in t0)
    assert g0.keys() == g1.keys()
    for name in g0:
        assert torch.allclose(g0[name], g1[name], rtol=1e-4, atol=1e-7), name
    with pytest.raises(ValueError, match="semantic stage only"):
        build_stage(config("transparency", tmp_path, 1, 1e-3, gradient_checkpointing=True))


def test_upsampler_stage_trains_the_entire_network(chain):
    """Appendix 6.4: decoder and upsampler train together; the upsampler reads the
    decoder's context feature."""
    matting = tdm.TDMPipeline.from_pretrained(chain["matting"])
    before = matting.decoder.state_dict()
    after = tdm.TDMPipeline.from_pretrained(chain["upsampler"])
    # trained on 256 px samples from 1/2 and 1/4 of them, it still processes at stage 3's side
    assert after.config.resolution == matting.config.resolution != STAGE_OPTIONS["upsampler"]["resolution"]
    changed = [k for k, v in after.decoder.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("fusion") for k in changed) and any(k.startswith("head") for k in changed)
    assert after.upsampler.config.context_channels == after.decoder.context_channels > 0
    assert after.upsampler.config.dilation == 0  # the paper's active set


def test_upsampler_targets_are_the_samples_never_upscaled(tmp_path, one_thread):
    cfg = config("upsampler", tmp_path, 1, 1e-3)
    side = processing_side(cfg)
    assert data_resolution(cfg) == side  # read like every stage, not at 4x the side
    data, _ = open_data(cfg, 2)
    batch = collate([data[0], data[1]])
    assert batch["alpha"].shape[-2:] == (side, side)
    module = build_stage(cfg).train()
    assert {"decoder", "upsampler"} <= set(module.trainable)
    decoded, upsampled = [], []
    module.decoder.register_forward_hook(lambda m, args, out: decoded.append(args[0].shape[-1]))
    module.upsampler.register_forward_hook(lambda m, args, out: upsampled.append(out.shape[-2:]))
    module(batch)["loss"].backward()
    assert decoded == [side // 2, side // 4]  # the inputs shrink instead
    assert upsampled == [(side, side)] * 2  # compared with the sample's own alpha
    decoded.clear()
    module.predict_alpha(batch)
    assert decoded == [side // 4]  # tiny processes at 64: validated from the largest factor
    module.pipe.register_to_config(resolution=side // 2)
    decoded.clear()
    module.predict_alpha(batch)
    assert decoded == [side // 2]  # validated as inference runs: the student at its side
    with pytest.raises(ValueError, match="multiple of 256"):
        build_stage(config("upsampler", tmp_path, 1, 1e-3, resolution=128))


def test_matting_stage_builds_the_presets_decoder_over_an_old_layout():
    pipe = tdm.build_pipeline("tiny")
    pipe.register_modules(decoder=DetailDecoder(feature_channels=32, align_channels=16, stream_channels=(8, 16, 16),
                                                fusion_channels=(16, 16, 8), head_channels=8))
    stage = MattingStage(pipe, get_preset("tiny"))
    assert tuple(stage.trainable["decoder"].config.fusion_channels) == get_preset("tiny").decoder["fusion_channels"]


def _edge_matte(image, texts, return_context):
    """A decoder stand-in: 0 on the left, 1 on the right, soft only in a middle band."""
    b, _, h, w = image.shape
    x = torch.linspace(-8, 8, w).view(1, 1, 1, w).expand(b, 1, h, w)
    return torch.sigmoid(x * w / 4), torch.zeros(b, 8, h, w)


@pytest.mark.parametrize("freeze_decoder", [False, True])
def test_frozen_decoder_option_takes_the_loss_on_the_active_set_only(freeze_decoder, one_thread):
    stage = UpsamplerStage(tdm.build_pipeline("tiny"), get_preset("tiny"), freeze_decoder=freeze_decoder)
    assert ("decoder" in stage.trainable) is not freeze_decoder
    stage.matte = _edge_matte
    batch = {"image": torch.rand(1, 3, 256, 256) * 2 - 1, "alpha": torch.rand(1, 1, 256, 256), "text": ["x"]}
    far = {**batch, "alpha": batch["alpha"].clone()}
    far["alpha"][..., :, :32] = 0.5  # far left: the decoder says 0 there, outside the active set
    with torch.no_grad():
        same = torch.equal(stage(batch)["loss"], stage(far)["loss"])
    assert same is freeze_decoder
