"""benchmarks/probe_latent.py: per-instance probes of colour, pattern and category from a
VAE latent and from the pixels (tiny preset, few scenes; no timing)."""
import sys
from pathlib import Path

import tdm

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import probe_latent  # noqa: E402


def test_probes_score_every_label_and_read_colour_from_pixels():
    vae = tdm.build_pipeline("tiny", seed=0).vae.float().eval()
    result = probe_latent.probe_latent(vae, scenes=40, side=64)
    train, val = result["instances"]
    assert train > 20 and val > 20
    for label in probe_latent.LABELS:
        assert sorted(result[label]) == sorted(f"{f}{s}" for f in probe_latent.FEATURES for s in ("", "_mlp"))
        for accuracy, majority, classes in result[label].values():
            assert 0 <= accuracy <= 1 and 0 < majority <= 1 and classes >= 2
    assert 0 < result["psnr"] < 60
    accuracy, majority, _ = result["colour"]["rgb"]
    assert accuracy > majority + 0.2  # an instance's mean colour tells its colour word
