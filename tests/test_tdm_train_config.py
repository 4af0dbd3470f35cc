"""TrainConfig: stage check, Table 4 defaults with overrides, save / load."""
import pytest

from tdm.train.config import TrainConfig


def test_config_rejects_unknown_stage(tmp_path):
    with pytest.raises(ValueError, match="unknown stage"):
        TrainConfig(preset="tiny", stage="nope", data="synthetic", output=str(tmp_path))
    cfg = TrainConfig(preset="tiny", stage="matting", data="synthetic", output=str(tmp_path),
                      max_steps=7, lr=1e-3)
    assert cfg.hyper().total_steps == 7 and cfg.hyper().lr == 1e-3
    assert cfg.hyper().milestones == (1, 5)  # 10k and 35k of 50k, moved with the total
    cfg.save(tmp_path)
    assert TrainConfig.load(tmp_path) == cfg
