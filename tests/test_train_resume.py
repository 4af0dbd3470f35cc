"""--resume continues bit-for-bit: same losses, lr and validation as an uninterrupted run."""
import json

import pytest

from tdm.train import TrainConfig, Trainer, train


class Crash(Exception):
    pass


class CrashingTrainer(Trainer):
    """Dies after optimiser step ``crash_after`` (later than its last checkpoint)."""

    crash_after = 4

    def train_step(self, micro_batches):
        if self.step == self.crash_after:
            raise Crash
        return super().train_step(micro_batches)


def config(output, **extra) -> TrainConfig:
    # augmentation, BatchNorm, gradient accumulation and a milestone are all exercised
    return TrainConfig(preset="tiny", stage="matting", data="synthetic:length=10,max_objects=2",
                       output=str(output), max_steps=7, batch_size=4, grad_accum=2, lr=1e-2,
                       milestones=(5,), factors=(0.1,), checkpoint_every=3, val_every=2,
                       val_size=2, progress=False, **extra)


def metrics(output) -> list[dict]:
    rows = [json.loads(l) for l in (output / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_resume_equals_uninterrupted(tmp_path, one_thread):
    train(config(tmp_path / "straight", loader_workers=2))  # loader processes change nothing
    with pytest.raises(Crash):
        CrashingTrainer(config(tmp_path / "resumed")).fit()
    assert len(metrics(tmp_path / "resumed")) == 4  # steps 1-4 logged, checkpoint at 3
    train(config(tmp_path / "resumed"), resume=True)
    straight, resumed = metrics(tmp_path / "straight"), metrics(tmp_path / "resumed")
    assert [r["step"] for r in resumed] == list(range(1, 8))
    assert resumed == straight
    assert straight[5]["lr"] == pytest.approx(1e-3)


def test_resume_refuses_other_settings(tmp_path, one_thread):
    cfg = config(tmp_path)
    cfg.max_steps = 3
    train(cfg)
    cfg.batch_size = 2
    with pytest.raises(ValueError, match="batch_size"):
        train(cfg, resume=True)
