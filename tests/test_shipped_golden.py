"""The shipped model gives the same uint8 mattes as the golden file (refactors must not
change what users get)."""
import numpy as np
import pytest

from shipped_golden import CASES, GOLDEN, REGENERATE, load_shipped, mattes, shipped_folder, weights_digest


@pytest.fixture(scope="module")
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


def test_golden_matches_the_shipped_weights(golden):
    assert weights_digest(shipped_folder()) == str(golden["digest"]), (
        f"tdm/assets/demo is not the model {GOLDEN.name} was made with: after reshipping it, "
        f"regenerate the golden with `{REGENERATE}`")


def test_shipped_mattes_are_bit_identical_to_the_golden(golden):
    if weights_digest(shipped_folder()) != str(golden["digest"]):
        pytest.fail(f"shipped weights changed: regenerate the golden with `{REGENERATE}`")
    inputs = {k.removeprefix("frame_"): v for k, v in golden.items() if k.startswith("frame_")}
    got = mattes(load_shipped(), inputs)
    assert sorted(got) == sorted(name for name, *_ in CASES)
    for name, alpha in got.items():
        want = golden[f"alpha_{name}"]
        assert alpha.shape == want.shape, name
        diff = int((alpha != want).sum())
        assert diff == 0, f"{name}: {diff} of {want.size} alpha values differ"
        assert want.max() > want.min(), f"{name}: a flat golden matte guards nothing"
