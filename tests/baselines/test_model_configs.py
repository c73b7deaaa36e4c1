"""Each conf/model/<baseline>.yaml instantiates its baseline, which fits and predicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from respicast.models.baselines import Baseline
from respicast.models.baselines.synthetic import make_windowset, split
from respicast.training import instantiate_model

CONF = Path(__file__).parents[2] / "conf" / "model"
NAMES = ["climatology", "persistence", "logistic", "lightgbm_tsfel", "glm_dlnm"]


@pytest.mark.parametrize("name", NAMES)
def test_config_instantiates_a_working_baseline(name, tmp_path):
    cfg = OmegaConf.create({"seed": 3, "data": {"cache_dir": str(tmp_path)}})
    cfg.model = OmegaConf.load(CONF / f"{name}.yaml")
    if name == "lightgbm_tsfel":
        cfg.model.n_estimators = 20  # keep the test short
    model = instantiate_model(cfg.model, dims=None)
    assert model.name == name
    assert isinstance(model, Baseline) and model.name == name
    train, test = split(make_windowset(n_days=700, seed=8))
    mean, prob = model.fit(train).predict_arrays(test)
    assert mean.shape == prob.shape == test.y_count.shape
    assert np.nanmax(prob) <= 1 and np.nanmin(prob) >= 0
