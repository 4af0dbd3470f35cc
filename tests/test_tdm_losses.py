"""Each loss of tdm.losses against a value computed by hand on a small case."""
import math

import pytest
import torch

from tdm import losses


def test_semantic_ce_hand_value():
    logits = torch.log(torch.tensor([1.0, 2.0, 3.0])).view(1, 3, 1, 1).repeat(1, 1, 1, 2)
    labels = torch.tensor([[[2, 0]]])
    expected = (-math.log(3 / 6) - math.log(1 / 6)) / 2
    assert losses.semantic_ce(logits, labels).item() == pytest.approx(expected, rel=1e-6)


def test_semantic_ce_resizes_labels_nearest():
    logits = torch.zeros(1, 3, 2, 2)
    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    assert losses.semantic_ce(logits, labels).item() == pytest.approx(math.log(3), rel=1e-6)


def test_balanced_semantic_ce_weights_rare_classes_up():
    # 1 fg cell, 3 bg cells: weights 1/sqrt(0.25 + 1e-3) and 1/sqrt(0.75 + 1e-3)
    logits = torch.log(torch.tensor([1.0, 2.0, 3.0])).view(1, 3, 1, 1).repeat(1, 1, 2, 2)
    labels = torch.tensor([[[0, 1], [1, 1]]])
    w_fg, w_bg = (0.25 + 1e-3) ** -0.5, (0.75 + 1e-3) ** -0.5
    expected = (w_fg * -math.log(1 / 6) + 3 * w_bg * -math.log(2 / 6)) / (w_fg + 3 * w_bg)
    assert losses.semantic_ce(logits, labels, balance=True).item() == pytest.approx(expected, rel=1e-5)
    assert losses.semantic_ce(logits, labels).item() == pytest.approx(
        (-math.log(1 / 6) - 3 * math.log(2 / 6)) / 4, rel=1e-6)
    assert torch.allclose(losses.class_balance_weights(labels, 3),
                          torch.tensor([w_fg, w_bg, 1e-3 ** -0.5]))


def test_semantic_guidance_masked_mean_summed_over_layers():
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2] = 1  # left half: fg/bg, right half: transparent
    student = [torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 1, 1)]
    teacher = [torch.full((1, 1, 2, 2), 2.0), torch.full((1, 2, 1, 1), 3.0)]
    # layer 1: squared diff 4 on the 2 of 4 masked elements -> mean 2
    # layer 2: the one 1x1 cell holds transparent pixels, so it is masked out -> 0
    assert losses.semantic_guidance(student, teacher, mask).item() == pytest.approx(2.0)
    mask[...] = 1  # all fg/bg: layer 2 counts, mean 9
    assert losses.semantic_guidance(student, teacher, mask).item() == pytest.approx(4.0 + 9.0)


def test_semantic_guidance_gradient_only_to_student():
    s = torch.zeros(1, 1, 2, 2, requires_grad=True)
    t = torch.ones(1, 1, 2, 2, requires_grad=True)
    losses.semantic_guidance([s], [t], torch.ones(1, 1, 2, 2)).backward()
    assert s.grad is not None and t.grad is None


def test_self_attention_transparency_mean_then_mean_over_resolutions():
    student = {16: torch.zeros(1, 2, 1), 8: torch.ones(1, 1, 1)}
    teacher = {16: torch.tensor([[[1.0], [3.0]]]), 8: torch.ones(1, 1, 1)}
    # res 16: (1 + 9) / 2 = 5 ; res 8: 0 -> mean 2.5
    assert losses.self_attention_transparency(student, teacher).item() == pytest.approx(2.5)


def test_cross_attention_transparency_sum_reduction():
    student = {16: torch.zeros(2, 2, 3), 8: torch.zeros(2, 1, 3)}
    teacher = {16: torch.ones(2, 2, 3), 8: torch.full((2, 1, 3), 2.0)}
    # res 16: 12 elements x 1 = 12 ; res 8: 6 elements x 4 = 24 -> mean 18
    assert losses.cross_attention_transparency(student, teacher).item() == pytest.approx(18.0)
    # a sum, not a mean over the batch: twice the samples, twice the loss
    doubled = {k: torch.cat([v, v]) for k, v in teacher.items()}
    zeros = {k: torch.zeros_like(v) for k, v in doubled.items()}
    assert losses.cross_attention_transparency(zeros, doubled).item() == pytest.approx(36.0)


def test_attention_losses_need_a_shared_resolution():
    with pytest.raises(ValueError):
        losses.cross_attention_transparency({16: torch.zeros(1, 1, 1)}, {8: torch.zeros(1, 1, 1)})


def test_alpha_l1():
    a = torch.tensor([0.0, 1.0, 0.25]).view(1, 1, 1, 3)
    b = torch.tensor([0.5, 0.5, 0.25]).view(1, 1, 1, 3)
    assert losses.alpha_l1(a, b).item() == pytest.approx(1.0 / 3)


def test_confidence_bce_targets_one_minus_mask():
    logits = torch.full((1, 1, 1, 2), math.log(3.0))  # sigmoid = 0.75
    mask = torch.tensor([0.0, 1.0]).view(1, 1, 1, 2)  # c_M = [1, 0]
    expected = (-math.log(0.75) - math.log(0.25)) / 2
    assert losses.confidence_bce(logits, mask).item() == pytest.approx(expected, rel=1e-6)


def test_loss_weights_and_total():
    w = losses.LossWeights()
    assert (w.stm, w.ctm, w.sg, w.alpha, w.confidence) == (10, 0.1, 0.5, 10, 1)
    terms = {k: torch.tensor(1.0) for k in ("stm", "ctm", "sg", "alpha", "confidence")}
    assert losses.distillation_total(terms, w).item() == pytest.approx(21.6)
    assert losses.distillation_total({"sg": torch.tensor(2.0)}).item() == pytest.approx(1.0)
    with pytest.raises(KeyError):
        losses.distillation_total({"ce": torch.tensor(1.0)})


def test_laplacian_of_constant_offset_is_zero_and_matting_loss_is_l1():
    gt = torch.rand(2, 1, 64, 48)
    assert losses.laplacian_loss(gt + 0.3, gt).item() == pytest.approx(0.0, abs=1e-6)
    terms = losses.matting_terms(gt + 0.3, gt)
    assert terms["loss"].item() == pytest.approx(0.3, abs=1e-5)
    assert terms["l1"].item() == pytest.approx(0.3, abs=1e-5)


def test_laplacian_checkerboard_lives_in_level_zero():
    # the binomial blur removes a checkerboard entirely: band 0 is the pattern, the
    # coarser bands are zero -> loss = 2^0 * mean|c * checker| / 5 = c / 5
    y, x = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    checker = ((x + y) % 2 * 2 - 1).float().view(1, 1, 64, 64)
    pyramid = losses.laplacian_pyramid(0.5 * checker)
    assert torch.allclose(pyramid[0], 0.5 * checker, atol=1e-6)
    assert all(level.abs().max() < 1e-6 for level in pyramid[1:])
    assert losses.laplacian_loss(0.5 * checker, torch.zeros_like(checker)).item() == pytest.approx(0.1, rel=1e-5)


def test_laplacian_loss_weights_level_l_by_2_pow_l():
    img = torch.rand(1, 1, 64, 64)
    pyr = losses.laplacian_pyramid(img)
    by_hand = sum((2**l) * p.abs().mean() for l, p in enumerate(pyr)) / 5
    assert losses.laplacian_loss(img, torch.zeros_like(img)).item() == pytest.approx(by_hand.item(), rel=1e-6)
    assert [p.shape[-1] for p in pyr] == [64, 32, 16, 8, 4]


def test_semantic_guidance_mask_follows_the_region_labels_rule():
    """A layer cell counts only when every pixel of it is fg/bg, as pool_regions' mask."""
    from tdm.data.regions import BACKGROUND, FOREGROUND, TRANSPARENT, pool_regions

    labels = torch.full((1, 8, 8), BACKGROUND, dtype=torch.long)
    labels[0, :4, :4] = FOREGROUND
    labels[0, 3, 5] = TRANSPARENT  # one transparent pixel spoils its 4x4 cell
    mask = (labels != TRANSPARENT).float()[:, None]
    _, region_mask = pool_regions(labels, (2, 2))
    assert torch.equal(losses.mask_at(mask, (2, 2))[:, 0], region_mask)
    s, t = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    assert losses.semantic_guidance([s], [t], mask).item() == pytest.approx(0.75)
