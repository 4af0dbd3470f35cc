"""Trainer pieces without a model: schedule, sample order, checkpoint RNG round trip."""
import random

import numpy as np
import pytest
import torch

from tdm.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from tdm.train.config import TrainConfig
from tdm.train.sampling import MicroBatchSampler
from tdm.train.setup import validation_spec
from tdm.train.optimizer import PAPER_HYPER, build_optimizer, lr_factor


def test_paper_schedule_poly_then_milestones():
    h = PAPER_HYPER["semantic"]
    assert (h.lr, h.total_steps, h.batch_size, h.milestones, h.factors) == (
        5e-5, 50_000, 32, (15_000, 40_000), (0.5, 0.25))
    assert lr_factor(0, 50_000, h.milestones, h.factors) == 1.0
    assert lr_factor(10_000, 50_000, h.milestones, h.factors) == pytest.approx(0.8 ** 0.9)
    assert lr_factor(15_000, 50_000, h.milestones, h.factors) == 0.5
    assert lr_factor(39_999, 50_000, h.milestones, h.factors) == 0.5
    assert lr_factor(45_000, 50_000, h.milestones, h.factors) == 0.25
    assert PAPER_HYPER["transparency"].factors == (0.4, 0.25)
    assert PAPER_HYPER["matting"].lr == 4e-4 and PAPER_HYPER["matting"].batch_size == 16
    assert PAPER_HYPER["upsampler"].total_steps == 10_000


def test_optimizer_is_adamw_with_schedule():
    p = torch.nn.Parameter(torch.zeros(3))
    opt, sched = build_optimizer([p], PAPER_HYPER["matting"].override(total_steps=100,
                                                                      milestones=(50,), factors=(0.1,)))
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]["weight_decay"] == 0.01
    lrs = []
    for _ in range(60):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(4e-4)
    assert lrs[10] == pytest.approx(4e-4 * 0.9 ** 0.9)
    assert lrs[55] == pytest.approx(4e-5)


def test_sample_order_independent_of_worker_split():
    one = MicroBatchSampler(45, micro_batch=2, world=1, rank=0, accum=2, seed=1)
    two = [MicroBatchSampler(45, micro_batch=2, world=2, rank=r, accum=1, seed=1) for r in (0, 1)]
    for step in range(30):  # crosses passes over the data
        assert one.step_batches(step) == [two[0].step_batches(step)[0],
                                          two[1].step_batches(step)[0]]
    seen = [i for s in range(45 // 4) for b in one.step_batches(s) for i in b]
    assert len(set(seen)) == len(seen) and set(seen) <= set(range(45))
    assert seen != sorted(seen)
    late = MicroBatchSampler(45, 2, accum=2, seed=1, start_step=7)
    assert next(iter(late)) == one.step_batches(7)[0]
    ordered = MicroBatchSampler(10, 2, world=2, rank=1, seed=1, shuffle=False)
    assert ordered.step_batches(3) == [[14, 15]]  # InterleavedDataset: position = index


def test_validation_spec_is_held_out():
    assert validation_spec("synthetic:length=5") == "synthetic:length=5,split=val"
    assert validation_spec("synthetic:length=5,seed=3,split=train") == "synthetic:length=5,split=val"  # own seed
    assert validation_spec("refmatte:/d/R+refcoco:/d/C,split=train+video:/v") == (
        "refmatte:/d/R,split=test+refcoco:/d/C,split=val")  # RefCOCO (UNC) has no test split
    assert validation_spec("p3m:/d/P+am2k:/d/A+rm1k:/d/M") == "p3m:/d/P,split=test+am2k:/d/A,split=test"
    assert validation_spec("video:/v") is None
    assert validation_spec("rm1k:/d/M") is None  # one set, no held-out split


def test_checkpoint_restores_rng_with_weights_only(tmp_path):
    save_checkpoint(tmp_path, {"rng": [rng_state()], "step": 3})
    expected = (torch.rand(4), np.random.rand(3), random.random())
    state = load_checkpoint(tmp_path)
    set_rng_state(state["rng"][0])
    again = (torch.rand(4), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1])
    assert expected[2] == again[2] and state["step"] == 3


def test_config_rejects_unknown_stage(tmp_path):
    with pytest.raises(ValueError, match="unknown stage"):
        TrainConfig(preset="tiny", stage="nope", data="synthetic", output=str(tmp_path))
    cfg = TrainConfig(preset="tiny", stage="matting", data="synthetic", output=str(tmp_path),
                      max_steps=7, lr=1e-3)
    assert cfg.hyper().total_steps == 7 and cfg.hyper().lr == 1e-3
    assert cfg.hyper().milestones == (10_000, 35_000)
    cfg.save(tmp_path)
    assert TrainConfig.load(tmp_path) == cfg
