"""Shared test set-up: never touch the network, keep Ray on loopback, few threads; the
fixtures more than one module uses (the expensive ones built once per process)."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import av  # noqa: E402,F401  (PyAV must be imported before decord in any process)
import torch  # noqa: E402

from pipelines_fixtures import clip, ensure_ray  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture
def one_thread():
    """Run a test with one torch thread (bit-exact comparisons across runs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> str:
    """A random-weight tiny pipeline saved as a diffusers folder (built once per process)."""
    import tdm

    folder = tmp_path_factory.mktemp("tdm-pipelines-model") / "tiny"
    tdm.build_pipeline("tiny", seed=0).save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory) -> str:
    """A 12-frame 64x48 H.264 clip with AAC audio (`pipelines_fixtures.clip`)."""
    return clip(tmp_path_factory.mktemp("clip") / "clip.mp4")


@pytest.fixture
def ray_local() -> None:
    """The test process's one small local Ray (started on first use, then reused)."""
    ensure_ray()
