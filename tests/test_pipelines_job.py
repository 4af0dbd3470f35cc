"""Memory that does not grow with frame size x prompts: the model batch shrinks to a budget."""
import numpy as np

import pipelines.job
from pipelines.job import prepare_job
from pipelines.options import MatteOptions
from pipelines_fixtures import FAST, alpha_of


def test_batch_shrinks_for_many_prompts_on_large_frames(clip_path, tmp_path, monkeypatch):
    opts = MatteOptions(**FAST)
    one = prepare_job(clip_path, ["a"], [str(tmp_path / "o.mkv")], opts)
    assert one.batch_size == FAST["batch_size"]
    per_prompt_frame = one.info.width * one.info.height * 4
    monkeypatch.setattr(pipelines.job, "BATCH_ALPHA_BYTES", 6 * per_prompt_frame)
    three = prepare_job(clip_path, ["a", "b", "c"], [str(tmp_path / "o.mkv")], opts)
    assert three.batch_size == 2
    assert all(c.start % 2 == 0 for c in three.chunks())  # chunks hold whole batches
    monkeypatch.setattr(pipelines.job, "BATCH_ALPHA_BYTES", 1)
    assert prepare_job(clip_path, ["a"], [str(tmp_path / "o.mkv")], opts).batch_size == 1


def test_a_smaller_batch_gives_the_same_mattes(clip_path, tmp_path, model_dir, monkeypatch, one_thread):
    import pipelines

    kw = dict(output_type="alpha", model=model_dir, **FAST)
    pipelines.matte_video(clip_path, ["a", "b"], str(tmp_path / "big.mkv"), **kw)
    monkeypatch.setattr(pipelines.job, "BATCH_ALPHA_BYTES", 1)
    pipelines.matte_video(clip_path, ["a", "b"], str(tmp_path / "small.mkv"), **kw)
    for slug in ("a", "b"):
        big, small = (alpha_of(tmp_path / f"{n}.{slug}.mkv").astype(int) for n in ("big", "small"))
        assert np.abs(big - small).max() <= 1
