"""build_source_panel: a panel whose series are the sites of a source file (one per département)."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import polars as pl
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from respicast.cli import CONFIG_DIR
from respicast.dataset.panel import PanelTable
from respicast.dataset.panel_datamodule import PanelDataModule
from respicast.harmonize.panel import build_panel_table

START = dt.date(2021, 1, 1)
# département -> (first day offset, number of days): series of different spans
SPANS = {"01": (0, 300), "2A": (40, 260), "31": (0, 320)}


def _rows(seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for dep, (first, n) in SPANS.items():
        for i in range(n):
            day = START + dt.timedelta(days=first + i)
            rows.append(
                {"dep": dep, "jour": day.isoformat(), "hosp": int(rng.poisson(5)), "rea": i % 7}
            )
    return rows


def _write(path, rows: list[dict]) -> str:
    lines = ["dep;jour;hosp;rea"]
    for r in rows:
        hosp = "NA" if r["hosp"] is None else str(r["hosp"])
        lines.append(f'"{r["dep"]}";{r["jour"]};{hosp};{r["rea"]}')
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _cfg(path: str, **over) -> dict:
    source = {
        "kind": "generic",
        "path": path,
        "resolution": "1d",
        "latency": {"days": 1, "hour": 0},
        "options": {
            "separator": ";",
            "date_column": "jour",
            "site_column": "dep",
            "columns": {
                "hosp": {"unit": "count", "group": "history"},
                "rea": {"unit": "count", "group": "epidemics"},
            },
        },
    }
    cfg = {
        "name": "syn",
        "world": None,
        "timezone": "Europe/Paris",
        "series": ["dep"],
        "calendar": {"country": "FR", "school_zone": None},
        "target": {"source": "spf", "column": "hosp", "latency_days": 1},
        "sources": {"spf": source},
        "spatial": {"level": "city", "method": "mean"},
        "fill": {"method": "locf_then_seasonal", "max_locf_days": 3},
    }
    cfg.update(over)
    return cfg


def test_panel_matches_the_file(tmp_path):
    rows = _rows()
    rows[5]["hosp"] = None  # a missing target day inside series 01
    panel = build_panel_table(_cfg(_write(tmp_path / "s.csv", rows)))
    assert isinstance(panel, PanelTable)
    assert panel.keys == ["dep"] and panel.target == "hosp"
    assert sorted(panel.static_frame()["dep"].to_list()) == sorted(SPANS)
    assert panel.frame.height == sum(n for _, n in SPANS.values())
    for dep, (first, n) in SPANS.items():
        part = panel.frame.filter(pl.col("dep") == dep).sort("date")
        assert part.height == n
        want = [r["hosp"] for r in rows if r["dep"] == dep]
        assert part["hosp"].to_list() == [None if v is None else float(v) for v in want]
        assert part["date"][0] == START + dt.timedelta(days=first)
        assert (part["date"].diff().drop_nulls().dt.total_days() == 1).all()
        # the series' own ICU column, as known at the end of each day (published the next day)
        rea = part["spf_rea"].to_list()
        own = [float(r["rea"]) for r in rows if r["dep"] == dep]
        assert rea[0] is None and rea[1:] == own[:-1]
    names = panel.feature_names
    assert "spf_rea" in names and "dow_sin" in names and "public_holiday" in names
    assert panel.mask_names == ["spf_rea_filled"]


def test_key_that_is_not_the_site_column(tmp_path):
    path = _write(tmp_path / "s.csv", _rows())
    with pytest.raises(ValueError, match=r"\['region'\] is not the site.*site_column: region"):
        build_panel_table(_cfg(path, series=["region"]))


def test_key_column_missing_from_the_file(tmp_path):
    path = _write(tmp_path / "s.csv", _rows())
    cfg = _cfg(path, series=["region"])
    cfg["sources"]["spf"]["options"]["site_column"] = "region"
    with pytest.raises(ValueError, match=r"s\.csv:1: header lacks column\(s\) \['region'\]"):
        build_panel_table(cfg)


def test_keys_must_be_the_site_columns(tmp_path):
    path = _write(tmp_path / "s.csv", _rows())
    with pytest.raises(ValueError, match=r"\['dep', 'age'\] is not the site column\(s\)"):
        build_panel_table(_cfg(path, series=["dep", "age"]))


def test_two_site_columns_give_two_keys(tmp_path):
    # the file's "dep" column holds "<dep>" and a second column the sex: one series per pair
    rows = _rows()
    lines = ["dep;sex;jour;hosp;rea"]
    for sex in ("f", "m"):
        for r in rows:
            lines.append(f'"{r["dep"]}";{sex};{r["jour"]};{r["hosp"] + (sex == "m")};{r["rea"]}')
    path = tmp_path / "two.csv"
    path.write_text("\n".join(lines) + "\n")
    cfg = _cfg(str(path), series=["dep", "sex"])
    cfg["sources"]["spf"]["options"]["site_column"] = ["dep", "sex"]
    panel = build_panel_table(cfg)
    assert panel.keys == ["dep", "sex"] and panel.frame.columns[:3] == ["dep", "sex", "date"]
    assert panel.static_frame().height == 6
    day = START + dt.timedelta(days=5)
    one = panel.frame.filter((pl.col("dep") == "01") & (pl.col("date") == day))
    want = next(r["hosp"] for r in rows if r["dep"] == "01" and r["jour"] == day.isoformat())
    assert dict(zip(one["sex"], one[panel.target], strict=True)) == {"f": want, "m": want + 1}


def test_series_without_observed_target_names_it(tmp_path):
    rows = [{**r, "hosp": None} if r["dep"] == "2A" else r for r in _rows()]
    path = _write(tmp_path / "s.csv", rows)
    with pytest.raises(ValueError, match=r"s\.csv.*series dep=2A has no observed 'hosp'"):
        build_panel_table(_cfg(path))


def test_mixed_resolutions_name_file_column_and_site(tmp_path):
    rows = [r for r in _rows() if r["dep"] != "31"]
    for i in range(30):  # 31: daily for 30 days, then weekly
        rows.append(
            {"dep": "31", "jour": (START + dt.timedelta(i)).isoformat(), "hosp": 1, "rea": 0}
        )
    for w in range(10):
        day = START + dt.timedelta(days=30 + 7 * (w + 1))
        rows.append({"dep": "31", "jour": day.isoformat(), "hosp": 9, "rea": 0})
    path = _write(tmp_path / "s.csv", rows)
    with pytest.raises(
        ValueError, match=r"s\.csv: column 'hosp' \(site '31'\) mixes daily and weekly"
    ):
        build_panel_table(_cfg(path))


def test_weekly_target_source_is_refused(tmp_path):
    cfg = _cfg(_write(tmp_path / "s.csv", _rows()))
    cfg["sources"]["spf"]["resolution"] = "1w"
    with pytest.raises(ValueError, match=r"data.sources.spf .*s\.csv.*of resolution 1d, got 1w"):
        build_panel_table(cfg)


def test_a_weekly_panel_sums_each_series_complete_weeks(tmp_path):
    cfg = _cfg(_write(tmp_path / "s.csv", _rows()), resolution="1w")
    panel = build_panel_table(cfg)
    daily = build_panel_table(_cfg(_write(tmp_path / "d.csv", _rows())))
    assert panel.step_days == 7 and (panel.frame["date"].dt.weekday() == 7).all()
    for dep in ("01", "2A"):
        week = panel.frame.filter(pl.col("dep") == dep).sort("date").row(1, named=True)
        days = daily.frame.filter(
            (pl.col("dep") == dep)
            & pl.col("date").is_between(week["date"] - dt.timedelta(days=6), week["date"])
        )
        assert days.height == 7
        assert week[panel.target] == days[panel.target].sum()


def test_series_zero_on_every_day_is_left_out(tmp_path, caplog):
    rows = [{**r, "hosp": 0} if r["dep"] == "31" else r for r in _rows()]
    with caplog.at_level(logging.WARNING, logger="respicast.harmonize.source_panel"):
        panel = build_panel_table(_cfg(_write(tmp_path / "s.csv", rows)))
    assert sorted(panel.static_frame()["dep"].to_list()) == ["01", "2A"]
    assert set(panel.frame["dep"].unique().to_list()) == {"01", "2A"}
    assert "1 series zero on every day left out: dep=['31']" in caplog.text


def test_missing_target_days_are_logged_not_filled(tmp_path, caplog):
    rows = _rows()
    for i in (10, 11, 12):
        rows[i]["hosp"] = None
    with caplog.at_level(logging.WARNING, logger="respicast.harmonize.source_panel"):
        panel = build_panel_table(_cfg(_write(tmp_path / "s.csv", rows)))
    assert panel.frame["hosp"].null_count() == 3
    assert "3 missing day(s) in 1 series" in caplog.text


@pytest.fixture(scope="module")
def real_cfg():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["data=spf_covid_dep"])
    GlobalHydra.instance().clear()
    return cfg.data


def _thresholds(dm: PanelDataModule) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per département: (days, peak threshold of each day)."""
    pw, out = dm.panel_windows, {}
    for s, dep in enumerate(pw.series["dep"].to_list()):
        o, n = int(pw.offsets[s]), int(pw.lengths[s])
        days = pw.first_day[s] + np.arange(n).astype("timedelta64[D]")
        out[dep] = (days, pw.threshold_flat[o : o + n].copy())
    return out


def test_real_config_thresholds_use_only_the_past(real_cfg):
    dm = PanelDataModule(real_cfg)
    dm.setup()
    series = dm.series_table()
    deps = set(series["dep"].to_list())
    # 102 codes in the file; 978 (Saint-Martin) is zero on every day and left out
    assert series.height == 101 and {"31", "2A", "971"} <= deps and "978" not in deps
    cut = dt.date(2021, 9, 1)
    panel = dm.panel
    later = pl.col("date") > cut
    changed = PanelTable(
        frame=panel.frame.with_columns(
            pl.when(later).then(pl.col(panel.target) * 3 + 50).otherwise(pl.col(panel.target))
        ),
        target=panel.target,
        columns=panel.columns,
        keys=panel.keys,
        static=panel.static,
        target_latency_days=panel.target_latency_days,
        meta=panel.meta,
    )
    dm2 = PanelDataModule(real_cfg, panel=changed)
    dm2.setup()
    a, b = _thresholds(dm), _thresholds(dm2)
    moved = 0
    for dep, (days, thr) in a.items():
        upto = days <= np.datetime64(cut)
        np.testing.assert_array_equal(thr[upto], b[dep][1][upto], err_msg=f"dep {dep}")
        moved += not np.array_equal(thr[~upto], b[dep][1][~upto], equal_nan=True)
    assert moved >= series.height - 1  # later thresholds do follow the changed counts
