"""Validation IoU counts only samples whose object is there; absent objects get their own
figure, so an empty matte no longer scores the absent share as IoU."""
import pytest
import torch

from tdm.train.validation import score


def sample(alpha: torch.Tensor, text: str) -> dict:
    return {"image": torch.zeros(3, 8, 8), "alpha": alpha[None], "text": text}


def square() -> torch.Tensor:
    a = torch.zeros(8, 8)
    a[2:6, 2:6] = 1
    return a


DATA = [sample(square(), "a box"), sample(torch.zeros(8, 8), "a car")]


def constant(value: float):
    return lambda batch: torch.full_like(batch["alpha"], value)


def test_empty_matte_scores_zero_iou_and_no_absent_alpha():
    got = score(constant(0.0), DATA, [0, 1], batch_size=2, device=torch.device("cpu"))
    assert got["val_iou"] == 0.0  # version 1 gave 0.5: the absent sample counted as 1
    assert got["val_absent_alpha"] == 0.0
    assert got["val_sad"] == pytest.approx(16 / 1000 / 2)  # SAD in thousands, over both


def test_full_matte_and_a_set_without_objects():
    got = score(constant(1.0), DATA, [0, 1], batch_size=1, device=torch.device("cpu"))
    assert got["val_iou"] == pytest.approx(16 / 64)
    assert got["val_absent_alpha"] == 1.0
    only_absent = score(constant(0.2), DATA, [1], batch_size=1, device=torch.device("cpu"))
    assert "val_iou" not in only_absent
    assert only_absent["val_absent_alpha"] == pytest.approx(0.2)


def test_a_candidate_without_an_iou_does_not_ship():
    from tdm.train.ship import worse

    assert "no held-out sample" in worse({"val_sad": 1.0}, {})
    assert worse({"val_iou": 0.2, "val_sad": 1.0}, {}) is None
    assert "SAD" in worse({"val_iou": 0.2, "val_sad": 2.0}, {"val_iou": 0.1, "val_sad": 1.0})


class Pairs(list):
    """Items 2k and 2k+1: one image, two targets (``synthetic:pairs=1``)."""

    group_size = 2


def test_a_set_of_pairs_scores_the_swap_test():
    left, right = torch.zeros(8, 8), torch.zeros(8, 8)
    left[:, :3], right[:, 5:] = 1, 1
    data = Pairs([sample(left, "the left box"), sample(right, "the right box"),
                  sample(right, "the right box"), sample(torch.zeros(8, 8), "a car")])
    follows = lambda batch: torch.stack([s[None] for s in ([left, right] * 2)[:len(batch["text"])]])  # noqa: E731
    got = score(follows, data, range(4), batch_size=1, device=torch.device("cpu"))  # rounded up to 2
    assert got["val_swap"] == 1.0  # the pair naming an absent object does not count
    assert score(constant(0.5), data, range(4), batch_size=2, device=torch.device("cpu"))["val_swap"] == 0.0
    assert "val_swap" not in score(follows, list(data), range(4), batch_size=2, device=torch.device("cpu"))
