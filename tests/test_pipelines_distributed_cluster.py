"""A two-node Ray cluster on this machine loses a node mid-run; the output is still whole."""
from __future__ import annotations

import time

import numpy as np
import pytest
import ray
from ray.cluster_utils import Cluster

import pipelines
from pipelines_fixtures import alpha_of, clip, times_of

FRAMES = 16


@pytest.fixture
def two_node_cluster():
    """Head without CPUs and two 1-CPU worker nodes, so each model actor has a node."""
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": False, "object_store_memory": 100 * 1024 ** 2})
    workers = [cluster.add_node(num_cpus=1, object_store_memory=100 * 1024 ** 2) for _ in range(2)]
    ray.init(address=cluster.address)
    try:
        yield cluster, workers
    finally:
        ray.shutdown()
        cluster.shutdown()


def wait_for_actors(state: str, count: int, timeout: float = 120.0) -> None:
    """Wait until `count` actors are in `state` (ALIVE: model loaded; DEAD: loss known)."""
    from ray._private.state import actors

    deadline = time.monotonic() + timeout
    while sum(a["State"] == state for a in actors().values()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} actors became {state}"
        time.sleep(0.2)


def test_killed_worker_node_costs_only_its_chunks(two_node_cluster, tmp_path, model_dir):
    cluster, workers = two_node_cluster
    src = clip(tmp_path / "clip.mp4", frames=FRAMES, audio=False)
    options = {"output_type": "alpha", "model": model_dir, "resolution": 64, "batch_size": 2,
               "threads": 1, "quiet": True}
    killed = []

    def kill_a_node_after_first_chunk(done: int) -> None:
        if not killed:
            # kill a node whose actor is up, and let Ray learn of the death before the driver
            # goes on, so the loss is seen however fast the surviving actor works
            wait_for_actors("ALIVE", 2)
            cluster.remove_node(workers[0], allow_graceful=False)
            wait_for_actors("DEAD", 1)
            killed.append(done)

    result = pipelines.matte_video(src, "the square", str(tmp_path / "ray.mkv"),
                                   ray_address=cluster.address, num_workers=2, chunk_frames=2,
                                   progress=kill_a_node_after_first_chunk, **options)
    assert killed and killed[0] < FRAMES
    # the lost actor's chunks (in flight or next in line) went to the survivor or a replacement
    assert result["frames"] == FRAMES and result["workers_lost"] >= 1
    pipelines.matte_video(src, "the square", str(tmp_path / "local.mkv"), **options)
    assert np.array_equal(alpha_of(tmp_path / "ray.mkv"), alpha_of(tmp_path / "local.mkv"))
    assert times_of(tmp_path / "ray.mkv") == times_of(src)
