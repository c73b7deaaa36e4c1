import numpy as np
import polars as pl
import pytest
from matplotlib import image

from respicast.evaluation import evaluate_predictions
from respicast.evaluation.plots import log_to_wandb, save_run_plots
from respicast.evaluation.synthetic import fake_predictions, split_frames


@pytest.fixture(scope="module")
def evaluated():
    val, test = split_frames(fake_predictions(horizons=(1, 3, 7), days=500, val_days=250))
    return evaluate_predictions(val, test, {"bootstrap": {"n": 0}}, {1: 0.15, 3: 0.15, 7: 0.15})


def test_save_run_plots_writes_readable_pngs(evaluated, tmp_path):
    pngs = save_run_plots(evaluated.test, tmp_path, evaluated.thresholds)
    assert set(pngs) == {"roc", "reliability", "confusion", "timeseries_h1", "timeseries_h7", "pit"}
    for path in pngs.values():
        pixels = image.imread(path)
        assert pixels.shape[0] > 300 and pixels.shape[1] > 300
        assert np.std(pixels) > 0.05  # something was drawn


def test_plots_survive_a_test_split_without_peaks(evaluated, tmp_path, caplog):
    no_peak = evaluated.test.with_columns(pl.lit(0, dtype=pl.Int8).alias("peak"))
    pngs = save_run_plots(no_peak, tmp_path, evaluated.thresholds)
    assert pngs["roc"].exists()
    assert "curve left out" in caplog.text


def test_empty_frame_is_an_error(evaluated, tmp_path):
    with pytest.raises(ValueError, match="no row"):
        save_run_plots(evaluated.test.head(0), tmp_path, evaluated.thresholds)


def test_log_to_wandb_offline(evaluated, tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    pngs = save_run_plots(evaluated.test, tmp_path / "png", evaluated.thresholds)
    assert log_to_wandb(None, pngs, evaluated.test) is False
    run = wandb.init(mode="offline", dir=str(tmp_path), project="respicast-test")
    try:
        assert log_to_wandb(run, pngs, evaluated.test) is True
    finally:
        run.finish()
    media = list((tmp_path / "wandb").rglob("*.png"))
    assert len(media) == len(pngs)
    assert list((tmp_path / "wandb").rglob("*.table.json"))
