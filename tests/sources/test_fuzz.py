"""Seeded mutation fuzz of every reader, on real excerpts and on simulated files.

Each mutated file goes through `read_source`; the outcome must be one of
- the unchanged frame,
- a clear error: a ValueError naming the mutated file and a line (the mutated line itself for a
  structural damage: a field dropped or added, a row or the file cut, separators swapped),
- a logged repair: a new respicast log record naming a count,
- for a damaged value, a change confined to the observations of the mutated line, with as many
  rows as before (a value read differently, never a row lost);
never a shifted row (a structural damage accepted in silence) or a silently dropped row.
The judge is tested on its own below, so this test can fail.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from respicast.sources import csvtext, read_source
from respicast.sources.frame import SourceMeta
from respicast.sources.registry import KINDS

FIX = Path(__file__).parents[1] / "fixtures" / "sources"
SIM = FIX / "simulated"
N_FAST, N_SLOW = 2 * 14, 200  # every mutation twice per reader in the fast suite


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    files: tuple[Path, ...]
    options: dict = field(default_factory=dict)
    separator: str = ","
    tz: str = "Europe/Paris"


def _generic_sim(dirpath: Path) -> Path:
    """A small simulated bring-your-own table: ';' separated, decimal comma, 'n/a' markers, ppb."""
    rng = np.random.default_rng(7)
    days = pl.date_range(pl.date(2021, 1, 1), pl.date(2021, 2, 9), "1d", eager=True)
    temp = [f"{t:.1f}".replace(".", ",") for t in rng.normal(8, 4, len(days))]
    no2 = [f"{x:.1f}".replace(".", ",") for x in rng.gamma(4, 5, len(days))]
    no2[5], temp[11] = "n/a", "n/a"
    lines = ["date;admissions;temp;no2"] + [
        f"{d};{n};{t};{x}"
        for d, n, t, x in zip(days, rng.poisson(9, len(days)), temp, no2, strict=True)
    ]
    path = dirpath / "byod_sim.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


CHICAGO_COLUMNS = {
    "resp": {"unit": "count", "group": "history"},
    "temp": {"unit": "degC"},
    "dptp": {"unit": "degF", "variable": "dewpoint"},
    "pm10": {"unit": "ug/m3", "group": "pollution"},
}
CASES = [
    Case("sentinelles", "sentinelles", (FIX / "sentinelles_ili_region.csv",), {"geo": "73"}),
    Case("spf", "spf_hosp_dep", (FIX / "spf_hosp_dep.csv",), {"dep": "31"}, ";"),
    Case("pollen", "pollen", (FIX / "pollen_toulouse.csv",), {"sites": {"TLS": {}}}, ";"),
    Case("synop", "synop", (FIX / "synop.202403.csv",), {}, ";"),
    Case("atmo", "atmo", (FIX / "atmo_monthly_toulouse.csv",)),
    Case("meteo_daily", "meteo_daily", (FIX / "meteo_daily_Q_31.csv",), {}, ";"),
    Case(
        "generic",
        "generic",
        (FIX / "chicago_nmmaps_head.csv",),
        {"site": "chicago", "columns": CHICAGO_COLUMNS, "ignore": ["time", "year", "month"]},
        tz="America/Chicago",
    ),
    Case("sim_sentinelles", "sentinelles", (SIM / "sentinelles_ili.csv",), {"geo": "73"}),
    Case("sim_spf", "spf_hosp_dep", (SIM / "spf_covid_hosp_dep.csv",), {"dep": "31"}, ";"),
    Case("sim_pollen", "pollen", (SIM / "pollen_toulouse.csv",), {"taxa": ["Betula"]}, ";"),
    Case("sim_synop", "synop", (SIM / "synop.201301.csv",), {}, ";"),
    Case(
        "sim_atmo",
        "atmo",
        (SIM / "atmo_FR50004.csv", SIM / "atmo_FR50048.csv"),
        {"pollutants": ["NO2", "PM10", "PM2.5", "O3"]},
    ),
    Case(
        "sim_generic",
        "generic",
        (Path("byod_sim.csv"),),  # written by _generic_sim
        {
            "separator": ";",
            "decimal": ",",
            "na_values": ["n/a"],
            "columns": {
                "admissions": {"unit": "count", "group": "history"},
                "temp": {"unit": "degC"},
                "no2": {"unit": "ppb", "group": "pollution"},
            },
        },
        ";",
    ),
]


# ---------------------------------------------------------------- mutations
@dataclass
class Mutation:
    kind: str  # value | struct | delete | duplicate | encoding
    name: str
    file: str  # mutated file name
    line: int | None  # 1-based line damaged (before the mutation), None for the whole file
    text: str


NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _data_lines(lines: list[str]) -> list[int]:
    """0-based indices of data lines (after a '#' comment and the header)."""
    first = 2 if lines[0].lstrip("\ufeff").startswith("#") else 1
    return [i for i in range(first, len(lines)) if lines[i].strip()]


def _mutate(text: str, name: str, op: str, sep: str, rng: np.random.Generator) -> Mutation:
    lines = text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
    data = _data_lines(lines)
    i = int(rng.choice(data))
    row = lines[i]
    fields = row.split(sep)
    out, kind, line = list(lines), "value", i + 1
    if op in ("char_delete", "char_insert"):
        i = int(rng.integers(len(lines)))  # any line, header and comment included
        row, line = lines[i], i + 1
        pos = int(rng.integers(max(len(row), 1)))
        char = str(rng.choice(list('0123456789aZ.,;- "_/')))
        out[i] = row[:pos] + row[pos + 1 :] if op == "char_delete" else row[:pos] + char + row[pos:]
    elif op in ("number_negative", "number_huge", "number_text"):
        numeric = [j for j, f in enumerate(fields) if NUMBER.match(f.strip('"'))]
        if not numeric:
            return _mutate(text, name, "char_insert", sep, rng)
        j = int(rng.choice(numeric))
        new = {"number_negative": "-" + fields[j], "number_huge": fields[j] + "0000000000"}
        fields[j] = new.get(op, "x" + fields[j][::-1])
        out[i] = sep.join(fields)
    elif op in ("field_drop", "field_add", "row_cut", "separator_swap", "file_cut"):
        kind = "struct"
        if op == "field_drop":
            fields.pop(int(rng.integers(len(fields))))
            out[i] = sep.join(fields)
        elif op == "field_add":
            fields.insert(int(rng.integers(len(fields) + 1)), str(int(rng.integers(100))))
            out[i] = sep.join(fields)
        elif op == "separator_swap":
            out[i] = row.replace(sep, ";" if sep == "," else ",")
        else:  # cut before the last separator, so at least one field is lost
            cut = int(rng.integers(1, row.rindex(sep) + 1))
            out[i] = row[:cut]
            if op == "file_cut":
                return Mutation(kind, op, name, line, "\n".join(out[: i + 1]))
    elif op == "row_delete":
        kind = "delete"
        del out[i]
    elif op == "row_duplicate":
        kind = "duplicate"
        out.insert(int(rng.choice([i + 1, len(out)])), row)
    elif op in ("bom", "crlf"):
        kind, line = "encoding", None
        joined = "\n".join(out) + "\n"
        return Mutation(
            kind, op, name, line, "\ufeff" + joined if op == "bom" else joined.replace("\n", "\r\n")
        )
    return Mutation(kind, op, name, line, "\n".join(out) + "\n")


OPS = (
    "char_delete",
    "char_insert",
    "number_negative",
    "number_huge",
    "number_text",
    "field_drop",
    "field_add",
    "row_cut",
    "row_delete",
    "row_duplicate",
    "separator_swap",
    "bom",
    "crlf",
    "file_cut",
)


# ---------------------------------------------------------------- reading
class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name != "respicast.sources.registry":  # the per-source summary, not a repair
            self.messages.append(record.getMessage())


@dataclass
class Outcome:
    frame: pl.DataFrame | None = None
    error: str | None = None
    logs: list[str] = field(default_factory=list)
    crash: bool = False


def _read(case: Case, folder: Path) -> Outcome:
    pattern = folder / (case.files[0].name if len(case.files) == 1 else "*.csv")
    cfg = {"kind": case.kind, "path": str(pattern), "options": case.options}
    handler, logger = _Records(), logging.getLogger("respicast")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        frame, _ = read_source(case.name, cfg, tz=case.tz)
        out = Outcome(frame=frame)
    except ValueError as err:
        out = Outcome(error=str(err))
    except Exception as err:  # anything else is a crash, reported by the judge
        out = Outcome(error=f"crash {type(err).__name__}: {err}", crash=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    out.logs = [m.replace(str(folder), "<dir>") for m in handler.messages]
    return out


def _line_of_rows(case: Case, folder: Path) -> dict[tuple, tuple[str, int]]:
    """(time, site, variable) of every raw observation -> (file name, line), from the reader."""
    kind, where = KINDS[case.kind], {}
    for f in sorted(folder.glob("*.csv")):
        meta = SourceMeta(case.name, case.kind, kind.resolution, kind.latency)
        raw = kind.read([f], meta, dict(case.options), case.tz)
        for t, s, v, line in raw.select("time", "site", "variable", "line").iter_rows():
            where[(t, s, v)] = (f.name, line)
    return where


# ---------------------------------------------------------------- judging
def judge(mut: Mutation, base: Outcome, got: Outcome, where: dict) -> str | None:
    """None when the outcome is acceptable, else why not."""
    if got.crash:
        return got.error
    if got.error is not None:
        named = re.search(rf"{re.escape(mut.file)}:(\d+)", got.error)
        if not named:
            return f"error names no file:line of {mut.file}: {got.error}"
        if mut.kind == "struct" and int(named.group(1)) != mut.line:
            return f"structural damage at line {mut.line} reported at line {named.group(1)}"
        return None
    rows_before, rows_after = set(base.frame.rows()), set(got.frame.rows())
    lost, new = rows_before - rows_after, rows_after - rows_before
    repaired = [m for m in got.logs if m not in base.logs and re.search(r"\b\d+\b", m)]
    lines_lost = {where.get((r[0], r[1], r[2])) for r in lost}
    mutated = (mut.file, mut.line)
    if mut.kind in ("encoding", "duplicate"):
        return f"{len(lost)} row(s) lost, {len(new)} new" if lost or new else None
    if mut.kind == "delete":
        expected = {r for r in rows_before if where.get((r[0], r[1], r[2])) == mutated}
        return (
            None
            if lost == expected and not new
            else f"deleting line {mut.line}: {len(lost)} lost (expected {len(expected)}), {len(new)} new"
        )
    if not lost and not new:
        return None
    if mut.kind == "struct" and not repaired:
        return f"shifted or padded row accepted in silence: {sorted(lost)[:2]} -> {sorted(new)[:2]}"
    if repaired:
        return None
    if lines_lost - {mutated}:
        return f"rows of other lines changed: {sorted(lines_lost - {mutated}, key=str)}"
    if len(new) < len(lost):
        return f"{len(lost) - len(new)} row(s) of line {mut.line} dropped in silence"
    return None


def _fuzz(case: Case, n: int, tmp_path: Path, seed: int) -> tuple[list[str], dict[str, int]]:
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    sources = [_generic_sim(base_dir) if not f.is_absolute() else f for f in case.files]
    for f in sources:
        if f.parent != base_dir:
            shutil.copy(f, base_dir / f.name)
    base = _read(case, base_dir)
    assert base.error is None, base.error
    where = _line_of_rows(case, base_dir)
    rng = np.random.default_rng([seed, CASES.index(case)])
    failures, tally = [], {}
    for k in range(n):
        target = sources[int(rng.integers(len(sources)))].name
        mut = _mutate(
            (base_dir / target).read_text(), target, OPS[k % len(OPS)], case.separator, rng
        )
        folder = tmp_path / f"m{k}"
        shutil.copytree(base_dir, folder)
        (folder / target).write_bytes(mut.text.encode())
        got = _read(case, folder)
        why = judge(mut, base, got, where)
        outcome = (
            "error" if got.error else ("unchanged" if got.frame.equals(base.frame) else "changed")
        )
        tally[outcome] = tally.get(outcome, 0) + 1
        if why:
            failures.append(f"{case.name} #{k} {mut.name} {target}:{mut.line}: {why}")
        shutil.rmtree(folder)
    return failures, tally


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reader_mutation_fuzz(case, tmp_path):
    failures, tally = _fuzz(case, N_FAST, tmp_path, seed=12)
    assert not failures, "\n".join(failures)
    assert tally.get("error", 0) >= 5  # every structural mutation (at least 5 of 20) is caught


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reader_mutation_fuzz_long(case, tmp_path):
    failures, _ = _fuzz(case, N_SLOW, tmp_path, seed=2026)
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- the judge can fail
def test_fuzz_catches_a_reader_that_pads_short_rows(tmp_path, monkeypatch):
    """Without the field-count check, SPF rows with a field dropped are read shifted: the fuzz
    must report them (the bug of issue 12, point 10)."""

    def no_check(path: Path, data: bytes, separator: str, skip_lines: int) -> np.ndarray:
        lines = data.decode().split("\n")[skip_lines + 1 :]
        return np.array([not s.strip() for s in (lines[:-1] if data.endswith(b"\n") else lines)])

    monkeypatch.setattr(csvtext, "_field_layout", no_check)
    failures, _ = _fuzz(CASES[1], 5 * len(OPS), tmp_path, seed=12)
    silent = [f for f in failures if "in silence" in f]
    assert any("field_drop" in f for f in silent) and any("cut" in f for f in silent), failures


def _judge_frames(drop_line: int, change_line: int | None, kind: str, logs=()) -> str | None:
    base = pl.DataFrame(
        {"time": [1, 2, 3], "site": ["a"] * 3, "variable": ["x"] * 3, "value": [1.0, 2.0, 3.0]}
    )
    where = {(t, "a", "x"): ("f.csv", t + 1) for t in (1, 2, 3)}  # row t on line t + 1
    got = base.filter(pl.col("time") != drop_line - 1)
    if change_line is not None:
        got = got.with_columns(
            value=pl.when(pl.col("time") == change_line - 1).then(9.0).otherwise("value")
        )
    mut = Mutation(kind, "t", "f.csv", 3, "")
    return judge(mut, Outcome(base), Outcome(got, logs=list(logs)), where)


@pytest.mark.parametrize(
    ("drop_line", "change_line", "kind", "logs", "verdict"),
    [
        (0, 3, "value", (), None),  # the damaged line's value reads differently: fine
        (0, 3, "struct", (), "in silence"),  # the same after a field was dropped: shifted
        (0, 3, "struct", ("f.csv: 1 implausible value(s) set invalid",), None),  # logged
        (0, 2, "value", (), "other lines"),  # another line changed
        (3, None, "value", (), "dropped in silence"),  # the damaged row vanished
        (3, None, "delete", (), None),  # the deleted line's rows are gone, only them
        (2, None, "delete", (), "expected 1"),  # another line's row is gone
        (0, 3, "duplicate", ("f.csv: 1 duplicated row(s) dropped",), "1 row(s) lost"),
    ],
)
def test_judge(drop_line, change_line, kind, logs, verdict):
    why = _judge_frames(drop_line, change_line, kind, logs)
    assert why is None if verdict is None else verdict in why
