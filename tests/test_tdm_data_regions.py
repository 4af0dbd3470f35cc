"""Region labels from alpha: a hand-checked case."""
import numpy as np
import torch

from tdm.data.regions import BACKGROUND, FOREGROUND, TRANSPARENT, region_labels


def test_hand_case_kernel_3():
    alpha = np.zeros((8, 8), np.float32)
    alpha[2:7, 2:7] = 1.0          # 5x5 opaque square
    alpha[0, 7] = 0.5              # one soft pixel in the corner
    labels, mask = region_labels(alpha, kernel=3)
    assert labels.dtype == torch.long and mask.dtype == torch.float32
    expected = np.full((8, 8), TRANSPARENT)
    expected[3:6, 3:6] = FOREGROUND          # opaque square eroded by one pixel
    bg = np.zeros((8, 8), bool)
    bg[:, :] = True
    bg[1:8, 1:8] = False                     # dilated square (2..6 -> 1..7) is not bg
    bg[0:2, 6:8] = False                     # neighbourhood of the soft corner pixel
    expected[bg] = BACKGROUND
    np.testing.assert_array_equal(labels.numpy(), expected)
    np.testing.assert_array_equal(mask.numpy(), (expected != TRANSPARENT).astype(np.float32))


def test_batched_shapes_and_default_kernel():
    alpha = torch.zeros(2, 1, 64, 64)
    alpha[:, :, 16:48, 16:48] = 1.0
    labels, mask = region_labels(alpha)
    assert labels.shape == (2, 1, 64, 64) and mask.shape == (2, 1, 64, 64)
    # kernel 15 erodes 7 pixels from each side of the 32x32 square
    assert (labels[0, 0] == FOREGROUND).sum() == (32 - 14) ** 2
    assert labels[0, 0, 16, 16] == TRANSPARENT and labels[0, 0, 0, 0] == BACKGROUND
    assert mask[0, 0, 32, 32] == 1 and mask[0, 0, 12, 32] == 0


def test_pool_regions_one_rule_for_labels_and_mask():
    from tdm.data.regions import pool_regions
    from tdm.losses import mask_at

    alpha = torch.zeros(1, 1, 16, 24)
    alpha[..., :12] = 1.0      # fg cols 0..10 after erosion, transparent 11..12, bg 13..23
    alpha[..., 3, 20] = 0.5    # one soft pixel in the top right cell
    labels, mask = region_labels(alpha[:, 0], kernel=3)
    low, low_mask = pool_regions(labels, (2, 3))
    expected = [[FOREGROUND, TRANSPARENT, TRANSPARENT], [FOREGROUND, TRANSPARENT, BACKGROUND]]
    np.testing.assert_array_equal(low[0].numpy(), expected)
    assert labels[0, 8, 8] == FOREGROUND  # nearest sampling would call cell (1, 1) foreground
    # the mask of the pooled labels is the min-pooled M of the confidence target R
    torch.testing.assert_close(low_mask[:, None], mask_at(mask[:, None], (2, 3)))
    torch.manual_seed(0)
    for shape in ((9, 11), (32, 32)):
        a = torch.rand(2, 1, 64, 64).round() * torch.rand(2, 1, 1, 1).round()
        lab, m = region_labels(a[:, 0], kernel=5)
        pl, pm = pool_regions(lab, shape)
        torch.testing.assert_close(pm[:, None], mask_at(m[:, None], shape))
        assert ((pl != TRANSPARENT).float() == pm).all()
