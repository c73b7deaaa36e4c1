"""RESPICAST_CONF=DIR: a site's configs in front of the shipped ones, without editing the package."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from respicast.cli import CONFIG_DIR


def _compose(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=overrides)


def test_site_dir_adds_and_shadows_configs(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "site.yaml").write_text(
        "defaults:\n  - chicago_nmmaps\n  - _self_\nname: site\nlookback: 56\n"
    )
    (tmp_path / "debug").mkdir()
    (tmp_path / "debug" / "fast.yaml").write_text("# @package _global_\ntask_name: site_fast\n")
    monkeypatch.setenv("RESPICAST_CONF", str(tmp_path))
    cfg = _compose(["data=site", "debug=fast"])
    assert (cfg.data.name, cfg.data.lookback, cfg.data.horizon) == ("site", 56, 7)
    assert cfg.task_name == "site_fast" and "trainer" in cfg  # the rest is the shipped config


def test_missing_site_dir_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("RESPICAST_CONF", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="RESPICAST_CONF=.*nope: not a directory"):
        _compose([])
