"""The resumable sample order: the same global batches for any split over workers."""
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
