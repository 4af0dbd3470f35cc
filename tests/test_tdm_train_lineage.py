"""Training without pretrained weights and across runs (tiny preset): the encoders train in
the semantic stage and stay frozen after it, the SD-1.5 path keeps them frozen, a stage
that --init already trained continues, throughput is logged, samples can be cached, and
a run replaces a shipped model only when it validates better."""
import json

import pytest
import torch
from safetensors.torch import load_file

import tdm
from pipelines.model_loading import load_inference_pipeline
from pipelines.train import main
from tdm.text import build_text_encoder, build_tokenizer
from tdm.train import TrainConfig, Trainer, train
from tdm.train.batches import collate, load_batch
from tdm.train.cache import CachedDataset
from tdm.train.setup import build_stage, held_out_source, open_data, open_held_out
from tdm.train.keep import main as keep_main
from tdm.train.ship import RECORD_NAME, read_record, ship_if_better
from tdm.train.validation import SCORE_VERSION
from tdm.train.trainer import TIMING_KEYS
from tdm.unets import student_teacher_copy_map

DATA = "synthetic:length=12,max_objects=2"


def config(stage, output, steps=2, init=None, **extra) -> TrainConfig:
    return TrainConfig(**{"preset": "tiny", "stage": stage, "data": DATA, "output": str(output),
                          "max_steps": steps, "batch_size": 2, "lr": 1e-3,
                          "init": init and str(init), "val_size": 2, "progress": False, **extra})


def records(output) -> list[dict]:
    return [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]


def encoder_weights(pipe) -> dict[str, torch.Tensor]:
    return {"vae_encoder": pipe.vae.encoder.conv_in.weight.detach().clone(),
            "vae_decoder": pipe.vae.decoder.conv_in.weight.detach().clone(),
            "text": pipe.text_encoder.get_input_embeddings().weight.detach().clone()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """semantic (encoders train, vae/text lrs of their own) -> transparency -> matting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("foundation")
    plan = [("semantic", {"vae_lr": 3e-4, "text_encoder_lr": 2e-3}), ("transparency", {}),
            ("matting", {"lr": 1e-2})]
    init, out = None, {}
    for stage, extra in plan:
        train(config(stage, root / stage, steps=3, init=init, **extra))
        out[stage] = init = root / stage
    torch.set_num_threads(threads)
    return out


def test_encoders_train_in_the_semantic_stage_only(runs, tmp_path):
    fresh = encoder_weights(tdm.build_pipeline("tiny", seed=0))
    semantic = encoder_weights(tdm.TDMPipeline.from_pretrained(runs["semantic"]))
    assert not torch.equal(semantic["vae_encoder"], fresh["vae_encoder"])
    assert not torch.equal(semantic["text"], fresh["text"])
    assert torch.equal(semantic["vae_decoder"], fresh["vae_decoder"])  # never runs: frozen
    for later in ("transparency", "matting"):
        after = encoder_weights(tdm.TDMPipeline.from_pretrained(runs[later]))
        assert all(torch.equal(after[k], semantic[k]) for k in after), later
        stage = build_stage(config(later, tmp_path, init=runs["semantic"]))
        assert "vae" not in stage.trainable and "text_encoder" not in stage.trainable
        assert not any(p.requires_grad for p in stage.vae.parameters())
        assert not any(p.requires_grad for p in stage.text_encoder.parameters())
    with pytest.raises(ValueError, match="semantic stage only"):
        config("matting", tmp_path, train_encoders=True)


def test_balance_classes_weights_the_semantic_ce(tmp_path, one_thread):
    stage = build_stage(config("semantic", tmp_path, balance_classes=True))
    batch = collate(load_batch(open_held_out(config("semantic", tmp_path)), [0, 1]))
    torch.manual_seed(0)
    balanced = stage(batch)["ce"]
    stage.balance_classes = False
    torch.manual_seed(0)
    assert not torch.allclose(balanced, stage(batch)["ce"])
    with pytest.raises(ValueError, match="semantic stage only"):
        config("matting", tmp_path, balance_classes=True)


def test_encoders_have_their_own_lr_and_get_gradients(tmp_path, one_thread):
    trainer = Trainer(config("semantic", tmp_path, vae_lr=3e-4, text_encoder_lr=2e-3))
    lrs = sorted(g["lr"] for g in trainer.optimizer.param_groups)
    assert lrs == [3e-4, 1e-3, 2e-3]
    data, _ = open_data(trainer.config, 2)
    stage = trainer.stage.train()
    stage(collate([data[0], data[1]]))["loss"].backward()
    for name in ("vae", "text_encoder"):
        trained = [p for p in stage.trainable[name].parameters() if p.requires_grad]
        assert trained and all(p.grad is not None and p.grad.abs().sum() > 0 for p in trained), name
    assert all(p.grad is None for p in stage.vae.decoder.parameters())


def test_lineage_is_recorded_and_the_teacher_kept(runs):
    stored = json.loads((runs["matting"] / "train_config.json").read_text())
    assert stored["encoders_pretrained"] is False
    assert stored["trained_stages"] == ["semantic", "transparency", "matting"]
    # our own encoders: every output keeps what a later run needs to restart any stage
    pipe = tdm.TDMPipeline.from_pretrained(runs["matting"])
    assert pipe.teacher_unet is not None and pipe.semantic_head is not None


def sd15_folder(root):
    """A tiny SD-1.5-layout folder (unet/ vae/ text_encoder/ tokenizer/)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    preset = tdm.get_preset("tiny")
    torch.manual_seed(7)
    UNet2DConditionModel(**preset.teacher_unet_config()).save_pretrained(root / "unet")
    AutoencoderKL(**preset.vae_config()).save_pretrained(root / "vae")
    build_text_encoder(preset).save_pretrained(root / "text_encoder")
    build_tokenizer(preset.tokenizer_vocab_size).save_pretrained(root / "tokenizer")
    return root


def test_pretrained_path_keeps_the_encoders_frozen(tmp_path, one_thread):
    sd = sd15_folder(tmp_path / "sd")
    source = encoder_weights(tdm.build_pipeline("tiny", pretrained=str(sd)))
    first = build_stage(config("semantic", tmp_path / "x", pretrained=str(sd)))
    assert set(first.trainable) == {"teacher_unet", "semantic_head", "text_adapter"}
    train(config("semantic", tmp_path / "s1", pretrained=str(sd)))
    train(config("transparency", tmp_path / "s2", init=tmp_path / "s1"))
    for run in ("s1", "s2"):
        after = encoder_weights(tdm.TDMPipeline.from_pretrained(tmp_path / run))
        assert all(torch.equal(after[k], source[k]) for k in after), run
    # the lineage says pretrained: a second semantic run from s1 keeps them frozen too,
    # and past stage 1 the outputs drop the SD-sized teacher as before
    again = build_stage(config("semantic", tmp_path / "y", init=tmp_path / "s1"))
    assert "vae" not in again.trainable and "text_encoder" not in again.trainable
    assert tdm.TDMPipeline.from_pretrained(tmp_path / "s2").teacher_unet is None


def test_a_stage_that_init_trained_continues(runs, tmp_path):
    before = tdm.TDMPipeline.from_pretrained(runs["matting"])
    again = build_stage(config("transparency", tmp_path, init=runs["matting"]))
    assert all(torch.equal(v, before.unet.state_dict()[k])
               for k, v in again.trainable["unet"].state_dict().items())
    # the projections Phi of eq. (4) too: saved by the transparency stage, carried through
    # the matting stage's folder, so a continued run does not learn them again from scratch
    trained = tdm.TDMPipeline.from_pretrained(runs["transparency"]).projections.state_dict()
    for state in (before.projections.state_dict(), again.trainable["projections"].state_dict()):
        assert state.keys() == trained.keys()
        assert all(torch.equal(v, trained[k]) for k, v in state.items())
    decoder = build_stage(config("matting", tmp_path, init=runs["matting"])).trainable["decoder"]
    assert all(torch.equal(v, before.decoder.state_dict()[k])
               for k, v in decoder.state_dict().items())
    # --reinit: the student is copied from the teacher again, as in a first run
    fresh = build_stage(config("transparency", tmp_path, init=runs["matting"], reinit=True))
    assert any(not torch.equal(v, trained[k]) for k, v in fresh.trainable["projections"].state_dict().items())
    student, teacher = fresh.trainable["unet"].state_dict(), fresh.teacher.state_dict()
    mapping = student_teacher_copy_map(list(student))
    assert all(torch.equal(student[s], teacher[t]) for s, t in mapping.items())
    assert any(not torch.equal(student[s], before.unet.state_dict()[s]) for s in mapping)


def test_throughput_and_data_wait_are_logged(runs):
    for stage in runs:
        for row in records(runs[stage]):
            assert 0 <= row["data_seconds"] <= row["seconds"]
            assert 0 <= row["data_wait"] <= 1
            assert row["samples_per_s"] == pytest.approx(2 * row["steps_per_s"])


class Counting(torch.utils.data.Dataset):
    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        self.calls += 1
        return self.inner[i]


def test_cache_returns_the_same_samples_and_training(tmp_path, one_thread):
    data, _ = open_data(config("matting", tmp_path), 2)
    counting = Counting(data)
    cached = CachedDataset(counting, tmp_path / "cache")
    first = [cached[i] for i in (3, 5)]
    again = [CachedDataset(counting, tmp_path / "cache")[i] for i in (3, 5)]
    assert counting.calls == 2 and len(list((tmp_path / "cache").glob("*.npz"))) == 2
    for a, b, c in zip(first, again, (data[3], data[5])):
        assert a.keys() == b.keys() == c.keys()
        for k in c:
            assert (torch.equal(b[k], c[k]) if isinstance(c[k], torch.Tensor) else b[k] == c[k]), k
    losses = []
    for name, cache in (("plain", None), ("cold", tmp_path / "c"), ("warm", tmp_path / "c")):
        train(config("matting", tmp_path / name, steps=3, data_cache=cache and str(cache)))
        losses.append([{k: v for k, v in r.items() if k not in TIMING_KEYS}
                       for r in records(tmp_path / name)])
    assert losses[0] == losses[1] == losses[2]


def test_ship_if_better_refuses_a_model_that_is_not_better(runs, tmp_path):
    cfg = config("matting", runs["matting"])
    held_out, key = open_held_out(cfg), held_out_source(cfg)
    target = tmp_path / "shipped"
    first = ship_if_better(runs["matting"], target, held_out, key, count=2)
    assert first.shipped and first.baseline is None
    # the teacher ships too, so the next round continues every stage from the shipped
    # folder; inference loading leaves it out
    shipped = tdm.TDMPipeline.from_pretrained(str(target)).teacher_unet.state_dict()
    run_teacher = tdm.TDMPipeline.from_pretrained(runs["matting"]).teacher_unet.state_dict()
    assert all(torch.equal(v.half().float(), shipped[k].float()) for k, v in run_teacher.items())
    assert (target / "semantic_head").is_dir()
    inference = load_inference_pipeline(str(target), torch.device("cpu"), torch.float32)
    assert inference.teacher_unet is None and inference.semantic_head is None
    assert (target / "projections").is_dir() and inference.projections is None
    teacher = build_stage(config("semantic", tmp_path / "next", init=target)).trainable["teacher_unet"]
    assert all(torch.equal(v.half().float(), teacher.state_dict()[k]) for k, v in run_teacher.items())
    record = read_record(target)
    assert record["scores"] == first.candidate and record["held_out"]["count"] == 2
    assert record["steps"] == records(runs["matting"])[-1]["step"]  # trained, not planned
    assert record["held_out"]["score_version"] == SCORE_VERSION  # an older figure is not reused
    assert json.loads((target / "train_config.json").read_text())["trained_stages"][-1] == "matting"
    stored = load_file(next((target / "unet").glob("*.safetensors")))
    assert {v.dtype for v in stored.values()} == {torch.float16}
    # the same model again is not better; a higher recorded figure refuses it too
    assert not ship_if_better(runs["matting"], target, held_out, key, count=2).shipped
    record["scores"]["val_iou"] = 1.01  # above any IoU
    (target / RECORD_NAME).write_text(json.dumps(record))
    weights = sorted(p.read_bytes() for p in target.rglob("*.safetensors"))
    refused = ship_if_better(runs["transparency"], target, held_out, key, count=2)
    assert not refused.shipped and "not shipped" in refused.message
    assert sorted(p.read_bytes() for p in target.rglob("*.safetensors")) == weights
    assert read_record(target)["scores"]["val_iou"] == record["scores"]["val_iou"]
    assert not (tmp_path / "shipped.new").exists()
    # a figure measured on other samples is not reused: the shipped model is scored again
    record["held_out"]["seed"] += 1
    (target / RECORD_NAME).write_text(json.dumps(record))
    again = ship_if_better(runs["matting"], target, held_out, key, count=2)
    assert not again.shipped and again.baseline == first.candidate
    # a higher IoU with a higher SAD (a haze over the frame) is not better either
    record["scores"]["val_iou"], record["held_out"]["seed"] = -1.0, key["seed"]
    record["scores"]["val_sad"] = first.candidate["val_sad"] / 2
    (target / RECORD_NAME).write_text(json.dumps(record))
    hazy = ship_if_better(runs["matting"], target, held_out, key, count=2)
    assert not hazy.shipped and "SAD" in hazy.message
    record["scores"]["val_sad"] = first.candidate["val_sad"] * 2
    (target / RECORD_NAME).write_text(json.dumps(record))
    assert ship_if_better(runs["matting"], target, held_out, key, count=2).shipped


def test_cli_ship_if_better(runs, tmp_path, capsys, one_thread):
    args = ["--preset", "tiny", "--stage", "matting", "--data", DATA, "--batch-size", "2",
            "--val-size", "2", "--no-progress", "--max-steps", "1", "--init", str(runs["transparency"]),
            "--ship-if-better", str(tmp_path / "shipped")]
    assert main(args + ["--output", str(tmp_path / "a")]) == 0
    assert "tdm-train: shipped to" in capsys.readouterr().out
    assert main(args + ["--output", str(tmp_path / "b")]) == 0  # the same run: not better
    assert "tdm-train: not shipped" in capsys.readouterr().out
    assert main(args + ["--output", str(tmp_path / "c"), "--val-size", "0"]) == 2
    assert "held-out" in capsys.readouterr().err


def test_keep_commits_a_run_state_that_the_next_round_continues(runs, tmp_path, capsys):
    kept = tmp_path / "training" / "demo"
    kept.mkdir(parents=True)
    (kept / "stale.txt").write_text("an older state")
    assert keep_main([str(runs["semantic"]), str(kept)]) == 0 and "kept" in capsys.readouterr().out
    assert not (kept / "stale.txt").exists()  # replaced whole
    assert (kept / "metrics.jsonl").read_text() == (runs["semantic"] / "metrics.jsonl").read_text()
    assert TrainConfig.load(kept).trained_stages == ("semantic",)
    stored = load_file(next((kept / "teacher_unet").glob("*.safetensors")))
    assert {v.dtype for v in stored.values()} == {torch.float16}
    run = tdm.TDMPipeline.from_pretrained(runs["semantic"]).teacher_unet.state_dict()
    stage = build_stage(config("transparency", tmp_path / "next", init=kept))
    assert all(torch.equal(v.half().float(), stage.teacher.state_dict()[k]) for k, v in run.items())
    assert keep_main([str(tmp_path / "missing"), str(kept)]) == 2
    assert "error" in capsys.readouterr().err and (kept / "model_index.json").is_file()


def test_recon_weight_trains_the_vae_decoder_and_its_loss_falls(tmp_path, one_thread):
    stage = build_stage(config("semantic", tmp_path, recon_weight=1.0)).train()
    assert all(p.requires_grad for p in stage.vae.decoder.parameters())
    assert not any(p.requires_grad for p in
                   build_stage(config("semantic", tmp_path)).vae.decoder.parameters())  # it never runs
    batch = collate(load_batch(open_held_out(config("semantic", tmp_path)), [0, 1]))
    optimizer = torch.optim.Adam(stage.trainable_parameters(), lr=2e-3)
    torch.manual_seed(0)
    history = []
    for _ in range(20):
        terms = stage(batch)
        optimizer.zero_grad()
        terms["loss"].backward()
        optimizer.step()
        history.append({k: float(v.detach()) for k, v in terms.items()})
    assert {"ce", "recon", "recon_l1", "kl", "psnr"} <= set(history[0])
    assert history[0]["loss"] == pytest.approx(history[0]["ce"] + history[0]["recon"], rel=1e-5)
    assert history[-1]["recon_l1"] < 0.7 * history[0]["recon_l1"]
    assert history[-1]["psnr"] > history[0]["psnr"] + 1.0
    with pytest.raises(ValueError, match="semantic stage only"):
        config("matting", tmp_path, recon_weight=1.0)
    with pytest.raises(ValueError, match="--train-encoders"):
        build_stage(config("semantic", tmp_path, recon_weight=1.0, train_encoders=False))
