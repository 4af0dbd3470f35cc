"""--num-workers: the same trainer under Ray Train (DDP, gloo on CPU). Two workers give
the loss curve (all five distillation terms) of one worker with the same global batch (batch 4 = 2 ranks x 2 there,
1 rank x 2 accumulation steps x 2 here): same samples per micro-batch, same BatchNorm
statistics, gradients averaged the same way."""
import json

import pytest
import torch

from pipelines.train import main
from tdm.train.trainer import TIMING_KEYS

ARGS = ["--preset", "tiny", "--stage", "transparency", "--data", "synthetic:length=10,max_objects=2",
        "--max-steps", "3", "--batch-size", "4", "--lr", "1e-3", "--val-size", "2",
        "--no-progress"]


def losses(output) -> list[dict]:
    rows = [json.loads(l) for l in (output / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS and not k.startswith("val_")}
            for r in rows]


def test_two_ray_workers_match_one_worker(tmp_path, ray_local):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(ARGS + ["--grad-accum", "2", "--output", str(tmp_path / "one")]) == 0
    finally:
        torch.set_num_threads(threads)
    assert main(ARGS + ["--num-workers", "2", "--output", str(tmp_path / "two")]) == 0
    one, two = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert [r["step"] for r in two] == [1, 2, 3]
    for a, b in zip(one, two):
        assert a.keys() == b.keys() >= {"loss", "stm", "ctm", "sg", "alpha", "confidence"}
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), (key, a, b)
    assert (tmp_path / "two" / "model_index.json").is_file()
