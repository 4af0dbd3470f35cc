"""Shared test set-up: never touch the network, keep Ray on loopback, few threads."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import av  # noqa: E402,F401  (PyAV must be imported before decord in any process)
import torch  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture
def one_thread():
    """Run a test with one torch thread (bit-exact comparisons across runs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
