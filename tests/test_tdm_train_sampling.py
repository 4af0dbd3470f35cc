"""The resumable sample order: the same global batches for any split over workers."""
import pytest

from tdm.train.sampling import MicroBatchSampler


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


def test_groups_stay_together_in_order():
    sampler = MicroBatchSampler(41, micro_batch=4, world=2, rank=0, accum=1, seed=3, group=2)
    batches = [b for s in range(25) for b in sampler.step_batches(s)]  # crosses passes
    for batch in batches:
        assert all(batch[k] % 2 == 0 and batch[k + 1] == batch[k] + 1 for k in range(0, 4, 2)), batch
    first_pass = [i for s in range(5) for r in (0, 1)
                  for i in MicroBatchSampler(41, 4, 2, r, seed=3, group=2).step_batches(s)[0]]
    assert sorted(first_pass) == list(range(40))  # index 40 has no partner: left out
    assert first_pass[::2] != sorted(first_pass[::2])  # pairs are shuffled
    ungrouped = MicroBatchSampler(41, 4, seed=3)
    assert ungrouped.step_batches(2) == MicroBatchSampler(41, 4, seed=3, group=1).step_batches(2)
    with pytest.raises(ValueError, match="whole groups"):
        MicroBatchSampler(40, micro_batch=3, group=2)
