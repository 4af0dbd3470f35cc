"""The guard of issue 14: the shipped model mattes the named instance on held-out scenes.

It scores the shipped pipeline on 24 scenes of the generator's test split (shape
families, patterns and backgrounds no training saw) with ``pipelines.grounding`` and
asks for a matte far better than an empty one and the right instance of two.

The shipped demo model grounds only partly (round 7: the right one of several instances
about half the time, SAD near an empty matte's; docs/DEMO_MODEL.md), so the guard is a strict
expected failure: it runs on every test run, and the day a shipped model passes it, the
run fails until this marker is removed and the guard is armed for good.
"""
import pytest
import torch

from pipelines.grounding import evaluate, pipeline_predictor
from shipped_golden import load_shipped

SCENES, SEED = 24, 4242  # test split; seed used nowhere else
MAX_SAD_RATIO = 0.5      # SAD at most half that of an empty matte
MIN_PAIR_CHOICE = 0.75   # the named one of two or more of a category, three times in four


@pytest.mark.xfail(strict=True, reason="the shipped demo model does not meet issue 14's figures yet")
def test_the_shipped_model_mattes_the_named_instance(one_thread):
    with torch.inference_mode():
        figures = evaluate(pipeline_predictor(load_shipped()), "test", SCENES, SEED, 256)
    assert figures["sad_ratio"] <= MAX_SAD_RATIO, figures
    assert figures["pair_choice"] >= MIN_PAIR_CHOICE, figures
