"""Every written file has the columns, units and codes of its real counterpart (docs/architecture.md)."""

from __future__ import annotations

import json

import duckdb
import polars as pl

AQ_COLUMNS = "X,Y,nom_dept,nom_com,insee_com,nom_station,code_station,typologie,influence,nom_poll,id_poll_ue,valeur,unite,metrique,date_debut,date_fin,statut_valid,x_l93,y_l93,ObjectId".split(
    ","
)
POLL_IDS = {"NO2": 8, "PM10": 5, "PM2.5": 6001, "O3": 7}


def test_air_quality_files(small_world):
    files = sorted((small_world / "air_quality").glob("*.csv"))
    assert {f.stem for f in files} >= {"FR50030", "FR50048"}
    for f in files:
        frame = pl.read_csv(f, infer_schema_length=0)
        assert frame.columns == AQ_COLUMNS, f
        assert frame["code_station"].unique().to_list() == [f.stem]
        assert set(frame["unite"].unique()) == {"ug.m-3"} and set(frame["metrique"].unique()) == {
            "horaire"
        }
        assert set(frame["statut_valid"].unique()) <= {"t", "f"}
        ids = frame.select("nom_poll", pl.col("id_poll_ue").cast(pl.Int64)).unique().rows()
        assert all(POLL_IDS[p] == i for p, i in ids), ids
        start = frame["date_debut"].str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ")
        end = frame["date_fin"].str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ")
        assert ((end - start).dt.total_hours() == 1).all()
        valid = frame.filter(pl.col("statut_valid") == "t")["valeur"].cast(pl.Float64)
        assert valid.min() >= 0 and valid.max() < 1000
        # gaps are missing rows: fewer rows than hours, yet most hours present
        hours_in_period = 3 * 365 * 24 + 24
        for _, part in frame.group_by("nom_poll"):
            assert 0.85 * hours_in_period < part.height < hours_in_period


def test_weather_synop(small_world):
    files = sorted((small_world / "weather").glob("synop.*.csv"))
    assert len(files) == 36 and files[0].name == "synop.201901.csv"
    frame = pl.concat([pl.read_csv(f, separator=";", infer_schema_length=0) for f in files])
    assert frame.columns == ["numer_sta", "date", "pmer", "t", "td", "u", "ff", "rr3", "pres"]
    assert set(frame["numer_sta"]) == {"07630"}
    stamps = frame["date"].str.to_datetime("%Y%m%d%H%M%S")
    assert set(stamps.dt.hour().unique()) == {0, 3, 6, 9, 12, 15, 18, 21}
    assert (frame["t"] == "mq").sum() > 0
    t = frame["t"].replace("mq", None).cast(pl.Float64).drop_nulls()
    assert 250 < t.min() and t.max() < 320 and 280 < t.mean() < 295  # kelvin
    pmer = frame["pmer"].replace("mq", None).cast(pl.Float64).drop_nulls()
    assert 95_000 < pmer.min() and pmer.max() < 106_000  # Pa


def test_pollen(small_world):
    frame = pl.read_csv(
        small_world / "pollen" / "toulouse.csv", separator=";", try_parse_dates=True
    )
    assert frame.columns == ["date", "site", "taxon", "grains_m3"]
    assert set(frame["taxon"]) == {"Cupressaceae", "Betula", "Poaceae", "Ambrosia"}
    assert frame.filter(pl.col("date").dt.weekday() >= 6).height == 0  # weekend gaps
    assert (frame["grains_m3"] >= 0).all()
    peak_month = (
        frame.group_by("taxon", pl.col("date").dt.month().alias("m"))
        .agg(pl.col("grains_m3").mean())
        .sort("grains_m3")
        .group_by("taxon")
        .last()
    )
    months = dict(peak_month.select("taxon", "m").rows())
    assert (
        months["Cupressaceae"] in (2, 3)
        and months["Betula"] in (3, 4)
        and months["Poaceae"] in (5, 6)
        and months["Ambrosia"] in (8, 9)
    )


def test_sentinelles_and_spf(small_world):
    for name, indicator in [("sentinelles_ili.csv", 3), ("sentinelles_rsv.csv", 25)]:
        path = small_world / "epidemics" / name
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# ") and "sentiweb" in json.loads(first[2:])["source"]
        frame = pl.read_csv(path, skip_rows=1)
        assert frame.columns == [
            "week",
            "indicator",
            "inc",
            "inc_low",
            "inc_up",
            "inc100",
            "inc100_low",
            "inc100_up",
            "geo_insee",
            "geo_name",
        ]
        assert set(frame["indicator"]) == {indicator} and set(frame["geo_insee"]) == {73}
        assert ((frame["week"] % 100).is_between(1, 53)).all() and frame["week"].is_unique().all()
        assert (frame["inc100_low"] <= frame["inc100"]).all() and (
            frame["inc100"] <= frame["inc100_up"]
        ).all()
    spf = small_world / "epidemics" / "spf_covid_hosp_dep.csv"
    lines = spf.read_text().splitlines()
    assert lines[0] == '"dep";"jour";"incid_hosp";"incid_rea";"incid_dc";"incid_rad"'
    assert lines[1].startswith('"31";2020-03-19;')
    frame = pl.read_csv(spf, separator=";", try_parse_dates=True)
    assert frame["jour"].is_sorted() and (frame["incid_hosp"] >= frame["incid_rea"]).all()


def test_zones_and_hospital_tables(small_world):
    zones = pl.read_csv(small_world / "zones.csv", schema_overrides={"postcode": pl.Utf8})
    assert zones.columns == ["zone", "zone_name", "postcode", "population", "lat", "lon"]
    assert zones["postcode"].is_unique().all() and zones["zone"].n_unique() == 6
    assert zones["lat"].is_between(43.3, 43.8).all() and zones["lon"].is_between(1.2, 1.7).all()
    with duckdb.connect(str(small_world / "hospital" / "stays.duckdb"), read_only=True) as con:
        stays = {r[0]: r[1] for r in con.execute("DESCRIBE stays").fetchall()}
        assoc = {r[0]: r[1] for r in con.execute("DESCRIBE associated_dx").fetchall()}
        assert stays == {
            "stay_id": "VARCHAR",
            "patient_id": "VARCHAR",
            "admission_ts": "TIMESTAMP",
            "discharge_date": "DATE",
            "principal_dx": "VARCHAR",
            "age": "INTEGER",
            "sex": "VARCHAR",
            "postcode": "VARCHAR",
            "via_ed": "BOOLEAN",
        }
        assert assoc == {"stay_id": "VARCHAR", "code": "VARCHAR"}
        assert (
            con.execute(
                "SELECT count(*) FROM stays WHERE discharge_date < CAST(admission_ts AS DATE)"
            ).fetchone()[0]
            == 0
        )
        assert (
            con.execute(
                "SELECT count(*) FROM stays WHERE NOT regexp_full_match(principal_dx, '[A-Z][0-9]{2,4}')"
            ).fetchone()[0]
            == 0
        )
        repeats = con.execute(
            "SELECT count(*) FROM (SELECT patient_id FROM stays GROUP BY 1 HAVING count(*) > 1)"
        ).fetchone()[0]
        assert repeats > 100
        assert (
            con.execute(
                "SELECT count(*) FROM associated_dx WHERE stay_id NOT IN (SELECT stay_id FROM stays)"
            ).fetchone()[0]
            == 0
        )
