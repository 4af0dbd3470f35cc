"""The paper's optimiser and lr schedule (Table 4): AdamW, poly decay, then milestones."""
import pytest
import torch

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


def test_position_replaces_the_step():
    """A time budget moves the schedule by its own position; without one it is the step."""
    p = torch.nn.Parameter(torch.zeros(3))
    hyper = PAPER_HYPER["matting"].override(total_steps=100, milestones=(50,), factors=(0.1,))
    _, plain = build_optimizer([p], hyper)
    _, timed = build_optimizer([p], hyper, position=lambda step: 60.0)  # budget 60% spent
    assert timed.get_last_lr()[0] == pytest.approx(4e-5)  # past the milestone at step 0
    assert plain.get_last_lr()[0] == pytest.approx(4e-4)
    assert lr_factor(25.5, 100, (), ()) == pytest.approx(0.745 ** 0.9)


def test_milestones_move_with_the_total_unless_given():
    """Table 4's milestones sit at the same fractions of a shorter or longer run; a time
    budget that runs the schedule over a large total no longer passes them at once."""
    h = PAPER_HYPER["semantic"]
    assert h.override(total_steps=1_000).milestones == (300, 800)
    assert h.override(total_steps=1_000_000).milestones == (300_000, 800_000)
    assert h.override(total_steps=1_000, milestones=(5,), factors=(0.1,)).milestones == (5,)
    assert h.override(total_steps=1_000, milestones=(), factors=()).milestones == ()
    assert h.override(lr=1e-3).milestones == h.milestones


def test_warmup_ramps_in_optimiser_steps_then_follows_the_schedule():
    """The warm-up multiplies the schedule over its first N optimiser steps, also when a
    time budget moves the schedule's position (it counts steps, not the position)."""
    p = torch.nn.Parameter(torch.zeros(3))
    hyper = PAPER_HYPER["matting"].override(total_steps=100, milestones=(), factors=(),
                                            warmup_steps=4)
    for position in (None, lambda step: 2.0 * step):
        opt, sched = build_optimizer([p], hyper, position=position)
        lrs = []
        for _ in range(6):
            lrs.append(sched.get_last_lr()[0])
            opt.step()
            sched.step()
        where = position or (lambda step: step)
        expected = [4e-4 * min(1.0, (s + 1) / 4) * lr_factor(where(s), 100, (), ()) for s in range(6)]
        assert lrs == pytest.approx(expected)
        assert lrs[0] == pytest.approx(1e-4) and lrs[1] < lrs[2] < lrs[3]
    with pytest.raises(ValueError, match="warm-up"):
        PAPER_HYPER["matting"].override(warmup_steps=-1)
