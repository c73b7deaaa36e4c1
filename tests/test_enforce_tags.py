"""extras.enforce_tags: a multirun with the default tags warns, or stops when enforced."""

from __future__ import annotations

import logging

import pytest
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import open_dict, read_write

from respicast.utils.run_files import apply_extras


def _cfg(compose_app, tmp_path, overrides, mode):
    cfg = compose_app("train", tmp_path, ["extras.print_config=false", *overrides])
    with read_write(cfg.hydra), open_dict(cfg.hydra):
        cfg.hydra.mode = mode
    HydraConfig().set_config(cfg)
    return cfg


def test_multirun_with_default_tags_warns_or_raises(compose_app, tmp_path, caplog):
    cfg = _cfg(compose_app, tmp_path, [], RunMode.MULTIRUN)
    assert list(cfg.tags) == ["dev"] and cfg.extras.enforce_tags is False
    with caplog.at_level(logging.WARNING, logger="respicast.utils.run_files"):
        apply_extras(cfg)
    assert "multirun with the default tags ['dev']" in caplog.text
    strict = _cfg(compose_app, tmp_path, ["extras.enforce_tags=true"], RunMode.MULTIRUN)
    with pytest.raises(ValueError, match=r"default tags \['dev'\].*extras\.enforce_tags=false"):
        apply_extras(strict)
    empty = _cfg(compose_app, tmp_path, ["extras.enforce_tags=true", "tags=[]"], RunMode.MULTIRUN)
    with pytest.raises(ValueError, match=r"default tags \[\]"):
        apply_extras(empty)


@pytest.mark.parametrize(
    ("overrides", "mode"),
    [
        (["tags=[lookback_sweep]"], RunMode.MULTIRUN),  # tags given
        (["experiment=example"], RunMode.MULTIRUN),  # tags set by an experiment
        ([], RunMode.RUN),  # a single run
    ],
)
def test_tagged_multirun_or_single_run_passes(compose_app, tmp_path, caplog, overrides, mode):
    cfg = _cfg(compose_app, tmp_path, ["extras.enforce_tags=true", *overrides], mode)
    with caplog.at_level(logging.WARNING, logger="respicast.utils.run_files"):
        apply_extras(cfg)
    assert "default tags" not in caplog.text
