"""pipelines.streams.Behind: calls run in order behind the caller; its error reaches the caller."""
import threading

import pytest

from pipelines.streams import Behind


def test_behind_runs_every_call_in_order_in_another_thread():
    seen, threads = [], set()

    def work(i, j):
        seen.append((i, j))
        threads.add(threading.current_thread().name)

    with Behind(work) as behind:
        for i in range(20):
            behind.put(i, -i)
    assert seen == [(i, -i) for i in range(20)]
    assert threads == {"tdm-behind"}


def test_behind_error_is_raised_in_the_caller():
    def work(i):
        if i == 3:
            raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"):
        with Behind(work) as behind:
            for i in range(100):
                behind.put(i)
