"""--resume continues bit-for-bit: same losses, lr and validation as an uninterrupted run."""
import json

import pytest

from tdm.train import TrainConfig, Trainer, train
from tdm.train.trainer import TIMING_KEYS


class Crash(Exception):
    pass


class CrashingTrainer(Trainer):
    """Dies after optimiser step ``crash_after`` (later than its last checkpoint)."""

    crash_after = 4

    def train_step(self, micro_batches):
        if self.step == self.crash_after:
            raise Crash
        return super().train_step(micro_batches)


# the semantic stage trains its encoders here, each at an lr of its own
STAGES = {"matting": {"lr": 1e-2},
          "semantic": {"lr": 1e-3, "vae_lr": 3e-4, "text_encoder_lr": 2e-3}}


def config(output, stage="matting", **extra) -> TrainConfig:
    # augmentation, BatchNorm, gradient accumulation and a milestone are all exercised
    return TrainConfig(preset="tiny", stage=stage, data="synthetic:length=10,max_objects=2",
                       output=str(output), max_steps=7, batch_size=4, grad_accum=2,
                       milestones=(5,), factors=(0.1,), checkpoint_every=3, val_every=2,
                       val_size=2, progress=False, **STAGES[stage], **extra)


def metrics(output) -> list[dict]:
    rows = [json.loads(l) for l in (output / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows]


@pytest.mark.parametrize("stage", list(STAGES))
def test_resume_equals_uninterrupted(tmp_path, one_thread, stage):
    train(config(tmp_path / "straight", stage, loader_workers=2))  # loader processes change nothing
    with pytest.raises(Crash):
        CrashingTrainer(config(tmp_path / "resumed", stage)).fit()
    assert len(metrics(tmp_path / "resumed")) == 4  # steps 1-4 logged, checkpoint at 3
    train(config(tmp_path / "resumed", stage), resume=True)
    straight, resumed = metrics(tmp_path / "straight"), metrics(tmp_path / "resumed")
    assert [r["step"] for r in resumed] == list(range(1, 8))
    assert resumed == straight
    assert straight[5]["lr"] == pytest.approx(STAGES[stage]["lr"] / 10)


def test_resume_refuses_other_settings(tmp_path, one_thread):
    cfg = config(tmp_path)
    cfg.max_steps = 3
    train(cfg)
    cfg.batch_size = 2
    with pytest.raises(ValueError, match="batch_size"):
        train(cfg, resume=True)


def test_time_budget_ends_the_run_like_its_last_step(tmp_path, one_thread):
    """--max-minutes: the run stops once the budget is spent, validates and saves there,
    and its lr schedule has moved with the time spent (here past the milestone)."""
    cfg = config(tmp_path, max_minutes=1e-4)  # 6 ms: one step spends it
    cfg.max_steps = 1000
    train(cfg)
    rows = metrics(tmp_path)
    assert [r["step"] for r in rows] == [1]
    assert "val_sad" in rows[0]
    assert (tmp_path / "model_index.json").is_file()
    trainer = Trainer(cfg)
    trainer.resume()
    assert trainer.step == 1 and trainer.trained_seconds >= 6e-3
    assert trainer.scheduler.get_last_lr()[0] == pytest.approx(STAGES["matting"]["lr"] / 10)


def test_ema_exports_the_average_and_resumes_it(tmp_path, one_thread):
    """--ema: validation and the exported folder use the weights' moving average (not the
    last step's weights), and --resume continues the average bit-for-bit."""
    import torch

    from tdm import TDMPipeline
    from tdm.train.checkpoint import load_checkpoint

    train(config(tmp_path / "straight", ema=0.9))
    with pytest.raises(Crash):
        CrashingTrainer(config(tmp_path / "resumed", ema=0.9)).fit()
    train(config(tmp_path / "resumed", ema=0.9), resume=True)
    assert metrics(tmp_path / "resumed") == metrics(tmp_path / "straight")
    train(config(tmp_path / "plain"))
    assert metrics(tmp_path / "plain")[-1]["val_sad"] != metrics(tmp_path / "straight")[-1]["val_sad"]
    state = load_checkpoint(tmp_path / "straight")
    exported = TDMPipeline.from_pretrained(str(tmp_path / "resumed"))
    moved = 0
    for key, average in state["ema"].items():
        component, name = key.split(".", 1)
        saved = getattr(exported, component).state_dict()[name].float()
        assert torch.equal(saved, average)
        moved += not torch.equal(average, state["trainable"][key].float())
    assert moved > 0
