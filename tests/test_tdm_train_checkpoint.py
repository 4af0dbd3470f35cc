"""Training checkpoints: weights_only loading restores every RNG."""
import random

import numpy as np
import torch

from tdm.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state


def test_checkpoint_restores_rng_with_weights_only(tmp_path):
    save_checkpoint(tmp_path, {"rng": [rng_state()], "step": 3})
    expected = (torch.rand(4), np.random.rand(3), random.random())
    state = load_checkpoint(tmp_path)
    set_rng_state(state["rng"][0])
    again = (torch.rand(4), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1])
    assert expected[2] == again[2] and state["step"] == 3
