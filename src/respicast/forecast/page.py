"""forecast.html: one self-contained page (inline CSS, the chart as an inline PNG) for the ward.

Read top to bottom in ten seconds: what and for whom (title), when (as-of date, data freshness in
words), how likely a peak (banner: level and what it means), how many (expected vs the usual
level for the season), why (the two or three driving groups), what the data could not say; then
the details (day table, how the levels are set, the alert-budget trade-off, sources).

Counts below k never appear: table cells show "<k", and the chart draws the band below k as a
grey zone with suppressed observations as hollow markers inside it (no value can be read off).
No server path is shown: the run is named by its folder name only.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from respicast.forecast.core import Forecast  # noqa: E402
from respicast.forecast.export import day_records, observed_records  # noqa: E402
from respicast.forecast.suppress import count_cell, is_suppressed  # noqa: E402
from respicast.run_dir import RunDir  # noqa: E402

COLORS = {"none": "#2e7d32", "watch": "#ef8f00", "alert": "#c62828"}
LINES = {"watch": "#7a3e00", "alert": "#5c0000"}  # threshold lines: darker than the bars
MEANING = {
    "none": "No day of the next week reaches the watch level.",
    "watch": "A peak is more likely than usual: check staffing and beds.",
    "alert": "A peak is likely: plan extra staff and beds.",
}
CSS = """body{font-family:system-ui,sans-serif;max-width:980px;margin:1em auto;padding:0 .8em;color:#222;line-height:1.4}
h1{font-size:1.45em;margin:.3em 0}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.sub{color:#444;margin:.2em 0 .8em}.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}td,th{border:1px solid #ccc;padding:4px 7px;text-align:right}
td:first-child,th:first-child{text-align:left;white-space:nowrap}th{background:#f3f3f3}
.lvl{color:#fff;font-weight:bold;border-radius:4px;padding:1px 6px}
.banner{padding:.8em 1em;border-radius:6px;color:#fff;font-size:1.15em}.banner p{margin:.3em 0 0;font-size:.85em}
.facts{list-style:none;padding:0}.facts li{margin:.45em 0;padding-left:.2em}.facts b{display:inline-block;min-width:6.5em}
.note{color:#555;font-size:.9em}.stale{color:#c62828;font-weight:bold}.up{color:#c62828}.down{color:#2e7d32}
.chosen{background:#fff4e0}img{max-width:100%;height:auto}footer{margin-top:2em;color:#666;font-size:.85em}
span.text{display:block;text-align:left}.phone{display:none}
@media (max-width:600px){body{margin:.4em auto}table{font-size:.85em}td,th{padding:3px 4px}
.facts b{min-width:0}.wide{display:none}.desk{display:none}.phone{display:block}h1{font-size:1.25em}}"""


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def _day(d) -> str:
    return f"{d:%a} {d.day} {d:%b}"


def _pct(x) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{100 * x:.0f} %"


def _count_axis(ax, fc: Forecast, k: int, n_days: int, ncol: int = 3) -> None:
    """Observed (last n_days), expected with bands, usual level and peak threshold; nothing
    below k readable."""
    recent = fc.observed.tail(n_days)
    obs_d = recent["date"].to_numpy()
    obs = recent["admissions"].to_numpy().astype(float)
    d = fc.days
    days = d["date"].to_numpy()
    ax.plot(obs_d, np.where(obs >= k, obs, np.nan), "o-", ms=3, color="#333", label="observed")
    small = np.isfinite(obs) & (obs < k)
    if small.any():
        ax.plot(obs_d[small], np.full(small.sum(), k / 2), "o", ms=4, mfc="none", color="#777")
    for lv, alpha in zip(sorted(fc.intervals, reverse=True), (0.18, 0.32), strict=False):
        p = round(100 * lv)
        lo, hi = (np.maximum(d[f"{s}_{p}"].to_numpy(), k) for s in ("lower", "upper"))
        ax.fill_between(days, lo, hi, color="#1565c0", alpha=alpha, lw=0, label=f"{p} % range")
    ax.plot(
        days, np.maximum(d["expected"].to_numpy(), k), "s-", color="#1565c0", ms=4, label="expected"
    )

    def above_k(col: str) -> np.ndarray:  # a count line below k would give the count away
        v = d[col].to_numpy().astype(float)
        return np.where(v >= k, v, np.nan)

    ax.axvline(np.datetime64(fc.asof), color="#888", lw=1, ls=":", label="as-of date")
    ax.plot(days, above_k("usual"), ":", color="#2e7d32", lw=2, label="usual for the season")
    ax.plot(days, above_k("peak_threshold"), "--", color="#c62828", lw=1.2, label="peak above")
    handles, names = ax.get_legend_handles_labels()
    if k > 0:
        ax.axhspan(0, k, color="#bbb", alpha=0.5, lw=0)
        handles.append(Patch(color="#bbb", alpha=0.5))
        names.append(f"counts <{k} not shown")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("admissions per day")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    # above the axes: a legend inside would hide the data on some days
    ax.legend(handles, names, fontsize="small", ncol=ncol, loc="lower left", bbox_to_anchor=(0, 1))


def _prob_axis(bx, fc: Forecast) -> None:
    """Peak probability bars coloured by level; watch and alert thresholds drawn over them."""
    d = fc.days
    days = d["date"].to_numpy()
    p = 100 * np.nan_to_num(d["peak_prob"].to_numpy())
    bx.bar(days, p, color=[COLORS[x] for x in d["level"]], width=0.7, alpha=0.85, zorder=2)
    bx.axvline(np.datetime64(fc.asof), color="#888", lw=1, ls=":")
    for lv, style in (("watch", "--"), ("alert", "-.")):
        thr = 100 * d[f"{lv}_threshold"].to_numpy()
        bx.step(
            days, thr, where="mid", color=LINES[lv], ls=style, lw=1.6, zorder=4, label=f"{lv} from"
        )
    top = max(float(np.nanmax(100 * d["alert_threshold"].to_numpy())), float(np.nanmax(p)), 5.0)
    bx.set_ylim(0, top * 1.25)
    bx.set_ylabel("peak probability %")
    bx.legend(fontsize="small", loc="upper left", ncol=2, framealpha=0.9)


def _chart(fc: Forecast, k: int, phone: bool = False) -> str:
    """PNG (base64) of recent observed admissions, the forecast bands and peak probabilities;
    the phone version is narrow, with bigger type and the last 14 observed days only."""
    size, font, days = ((4.2, 5.4), 9, 14) if phone else ((8, 5.4), 10, 28)
    with plt.rc_context({"font.size": font}):
        fig, (ax, bx) = plt.subplots(2, 1, figsize=size, height_ratios=[3, 1.5], sharex=True)
        _count_axis(ax, fc, k, days, ncol=2 if phone else 3)
        _prob_axis(bx, fc)
        bx.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        fig.autofmt_xdate()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=200 if phone else 100)
        plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _table(
    head: list[str], rows: list[list[str]], classes: list[str] | None = None, wide=()
) -> str:
    """A table in a horizontally scrolling box; `classes`: one per row; `wide`: indices of the
    columns left out at phone width."""

    def cell(tag: str, i: int, x: str) -> str:
        return f'<{tag} class="wide">{x}</{tag}>' if i in wide else f"<{tag}>{x}</{tag}>"

    th = "".join(cell("th", i, h) for i, h in enumerate(head))
    cls = classes or [""] * len(rows)
    body = "".join(
        (f'<tr class="{c}">' if c else "<tr>")
        + "".join(cell("td", i, x) for i, x in enumerate(r))
        + "</tr>"
        for r, c in zip(rows, cls, strict=True)
    )
    return f'<div class="scroll"><table><tr>{th}</tr>{body}</table></div>'


def _count(v, k: int) -> str:
    return f'<span class="count">{_e(v)}</span>'


def _level_stats(fc: Forecast, level: str) -> dict:
    """Mean over horizons of what a level meant on validation (days a month, ppv, caught)."""
    vals = [t[f"{level}_val"] for t in fc.thresholds.values() if f"{level}_val" in t]
    if not vals:
        return {}
    return {key: float(np.nanmean([v[key] for v in vals])) for key in vals[0]}


def _thr_range(fc: Forecast, level: str) -> str:
    v = [100 * t[level] for t in fc.thresholds.values()]
    lo, hi = min(v), max(v)
    return f"{lo:.0f} %" if round(lo) == round(hi) else f"{lo:.0f}–{hi:.0f} %"


def _banner(fc: Forecast, recs: list[dict]) -> str:
    order = ("none", "watch", "alert")
    worst = max((r["level"] for r in recs), key=order.index)
    days = [_day(d) for d, lv in zip(fc.days["date"], fc.days["level"], strict=True) if lv == worst]
    if worst == "none":
        head = f"No watch or alert for the next {len(recs)} days"
    else:
        head = f"{worst.upper()} on {len(days)} of the next {len(recs)} days: {', '.join(days)}"
    st = _level_stats(fc, worst) if worst != "none" else {}
    meant = ""
    if st and np.isfinite(st.get("ppv", np.nan)):
        meant = (
            f" On the validation days this level was raised about {st['per_month']:.0f} days a "
            f"month; {_pct(st['ppv'])} of those days were peaks."
        )
    return (
        f'<div id="level-banner" class="banner level-{worst}" style="background:{COLORS[worst]}">'
        f"<b>{_e(head)}</b><p>{_e(MEANING[worst] + meant)}</p></div>"
    )


def _how_many(fc: Forecast, k: int) -> str:
    """Expected admissions a day over the week, against the usual level for the season."""
    d = fc.days
    exp, usual = d["expected"].to_numpy(), d["usual"].to_numpy()
    lo, hi = count_cell(float(np.nanmin(exp)), k), count_cell(float(np.nanmax(exp)), k)
    text = (
        _count(lo, k) if lo == hi else f"{_count(lo, k)} to {_count(hi, k)}"
    ) + " admissions a day"
    if np.isfinite(usual).any():
        u = float(np.nanmean(usual))
        cell = count_cell(u, k)
        ratio = float(np.nanmean(exp)) / u - 1 if u > 0 else np.nan
        if is_suppressed(cell) or not np.isfinite(ratio):
            cmp = "usual"
        elif abs(ratio) < 0.1:
            cmp = "about the usual level"
        else:
            cmp = f"{abs(100 * ratio):.0f} % {'above' if ratio > 0 else 'below'} the usual level"
        text += f" — {cmp} for the season ({_count(cell, k)} a day in earlier years)"
    return text


def _how_likely(fc: Forecast, k: int) -> str:
    d = fc.days
    p = d["peak_prob"].to_numpy()
    if not np.isfinite(p).any():
        return "no peak probability (too little history for the peak threshold)"
    i = int(np.nanargmax(p))
    thr = count_cell(float(d["peak_threshold"][i]), k)
    return (
        f"highest peak probability {_pct(p[i])} on {_e(_day(d['date'][i]))} "
        f"(a peak: more than {_count(thr, k)} admissions, {_e(fc.peak_rule)})"
    )


def _why(fc: Forecast) -> str:
    if not fc.reasons:
        return "no variable group moves the peak probability by 1 point or more this week"
    arrow = {"up": "▲", "down": "▼"}
    return "; ".join(
        f'<span class="{r["direction"]}">{arrow[r["direction"]]}</span> {_e(r["text"])}'
        for r in fc.reasons
    )


def _source_name(fc: Forecast, name: str) -> str:
    return str(fc.labels.get("sources", {}).get(name) or name)


def _freshness_words(fc: Forecast) -> str:
    adm = fc.coverage.get("admissions", {})
    text = f"admissions known up to {_e(adm.get('last_covered') or 'unknown')}"
    late = [n for n, c in fc.coverage.items() if c.get("stale")]
    if late:
        names = ", ".join(_source_name(fc, n) for n in late)
        return text + f'; <span class="stale">out of date: {_e(names)}</span>'
    old = [
        _source_name(fc, n)
        for n, c in fc.coverage.items()
        if c.get("max_staleness_days") is None and (c.get("staleness_days") or 0) > 14
    ]
    text += "; every other source within its age limit"
    return text + (f" ({_e(', '.join(old))}: not updated, see below)" if old else "")


def _limits(fc: Forecast) -> str:
    """What the data could not say: stale or stopped sources, filled values, gaps, notes."""
    items = [f'<li class="stale">{_e(s)}</li>' for s in fc.stale]
    for name, c in fc.coverage.items():
        age = c.get("staleness_days")
        if c.get("max_staleness_days") is None and age is not None and age > 14:
            about = c.get("about") or "no age limit is set for it"
            items.append(
                f"<li>{_e(_source_name(fc, name))}: last data {age} days old — {_e(about)}.</li>"
            )
    by_source: dict[str, list[dict]] = {}
    for f in fc.filled:
        by_source.setdefault(f["source"] or f["group"], []).append(f)
    for src, rows in by_source.items():
        recent = sorted({d for r in rows for d in r["recent"]})
        days = max(r["days"] for r in rows)
        names = ", ".join(r["column"] for r in rows)
        text = (
            f"{_source_name(fc, src)}: values missing as published on {days} day(s) of the "
            f"model's input window were filled ({names}"
            + (f"; recent: {', '.join(recent)}" if recent else "")
            + ")"
        )
        items.append(f"<li>{_e(text)}</li>")
    if fc.history_gaps:
        items.append(f"<li>admissions unknown on {len(fc.history_gaps)} recent day(s).</li>")
    items += [f"<li>{_e(n)}</li>" for n in fc.notes if "were filled" not in n]
    body = "".join(items) or "<li>Nothing: every source was complete and on time.</li>"
    return (
        f'<h2 id="limits">What the data could not say</h2><ul>{body}</ul>'
        f'<p class="note">Fill rule: {_e(fc.fill_rule)}.</p>'
    )


def _levels(fc: Forecast) -> str:
    """How the levels are set (the budget, in words) and what they meant on validation."""
    b = fc.budgets
    rules = {lv: fc.thresholds[1][f"{lv}_rule"] for lv in ("watch", "alert")}
    rows = []
    for lv in ("watch", "alert"):
        st = _level_stats(fc, lv)
        rows.append(
            [
                f'<span class="lvl" style="background:{COLORS[lv]}">{lv}</span>',
                _thr_range(fc, lv),
                _e(rules[lv]),
                f"{st['per_month']:.1f}" if st else "—",
                _pct(st.get("ppv")) if st else "—",
                _pct(st.get("caught")) if st else "—",
            ]
        )
    budget = ""
    if any("days a month" in r for r in rules.values()):
        budget = (
            f'<p id="budget">The ward\'s alert budget: <b>watch or alert on at most '
            f"{b.get('watch_days_per_month', '—')} days a month</b>, <b>alert on at most "
            f"{b.get('alert_days_per_month', '—')} days a month</b>, as it would have rung on the "
            f"validation days ({_e(fc.val_period)}). Set in conf/forecast.yaml "
            "(alert.budget); the table below shows what another budget would give.</p>"
        )
    head = [
        "level",
        "from (peak probability)",
        "set so that",
        "days a month (val.)",
        "of which peaks",
        "peak days caught",
    ]
    return f'<h2 id="levels">What the levels mean</h2>{budget}' + _table(head, rows, wide={2})


def _decision(fc: Forecast) -> str:
    """The staffing trade-off for each alert budget (report.decision.pooled rows)."""
    if not fc.decision:
        return ""
    from respicast.report.decision import pct, per_month

    chosen = {float(v): k.split("_")[0] for k, v in fc.budgets.items()}
    rows, classes = [], []
    for r in fc.decision:
        mark = chosen.get(float(r["budget"]))
        rows.append(
            [
                f"{r['budget']:g}" + (f" ← {mark}" if mark else ""),
                pct(r["val_caught"]),
                per_month(r["val_false_per_month"]),
                pct(r["test_caught"]),
                per_month(r["test_false_per_month"]),
            ]
        )
        classes.append("chosen" if mark else "")
    head = [
        "alert days a month",
        "peaks caught (val.)",
        "false alerts a month (val.)",
        "peaks caught (test)",
        "false alerts a month (test)",
    ]
    return (
        '<h2 id="decision">Choosing the alert budget</h2><p>More alert days catch more peaks but '
        "cost more false alarms. For each budget: the share of peak days that had an alert, and "
        "the alert days without a peak, per month; on the validation days the thresholds were "
        "set on and on the later test days the model never saw, up to the as-of date (mean over "
        "the horizons).</p>" + _table(head, rows, classes, wide={1, 2})
    )


def _days_table(fc: Forecast, recs: list[dict], k: int) -> str:
    pcts = [round(100 * x) for x in fc.intervals]
    head = ["day", "expected", *[f"{p} % range" for p in pcts], "usual", "peak above"]
    head += ["peak prob.", "level"]
    rows = []
    for r in recs:
        rows.append(
            [
                _e(_day(dt.date.fromisoformat(r["date"]))),
                _count(r["expected"], k),
                *[f"{_count(r[f'lower_{p}'], k)}–{_count(r[f'upper_{p}'], k)}" for p in pcts],
                _count(r["usual"], k) if r.get("usual") is not None else "—",
                _count(r["peak_threshold"], k),
                _pct(r["peak_prob"]),
                f'<span class="lvl" style="background:{COLORS[r["level"]]}">{r["level"]}</span>',
            ]
        )
    n = len(pcts)
    wide = {2 + i for i in range(1, n)} | {2 + n, 3 + n}  # wider bands, usual, peak above
    return '<h2 id="days">Day by day</h2>' + _table(head, rows, wide=wide)


def _drivers(fc: Forecast) -> str:
    top = (
        "".join(
            f'<li><span class="{r["direction"]}">{"▲" if r["direction"] == "up" else "▼"}</span> '
            f"{_e(r['text'])}</li>"
            for r in fc.reasons
        )
        or "<li>No variable group moves the week's peak probability by 1 point or more.</li>"
    )
    per_day = "".join(f"<li>{_e(x['text'])}</li>" for x in fc.driver_lines)
    return (
        f'<h2 id="why">Why: what drives the forecast</h2><ul id="reasons">{top}</ul>'
        '<p class="note">Effect of a group = peak probability with its real inputs minus with '
        "its inputs set to their usual (training-mean) values; ▲ raises, ▼ lowers the risk.</p>"
        + (f"<details><summary>Day by day</summary><ul>{per_day}</ul></details>" if per_day else "")
    )


def _freshness(fc: Forecast) -> str:
    rows = []
    for name, c in fc.coverage.items():
        age, limit = c.get("staleness_days"), c.get("max_staleness_days")
        cls = ' class="stale"' if c.get("stale") else ""
        cols = c.get("columns", [])
        rows.append(
            [
                f'<span title="{_e(", ".join(cols))}">{_e(_source_name(fc, name))}</span>',
                _e(c.get("last_covered") or "unknown"),
                f"<span{cls}>{_e('—' if age is None else age)}</span>",
                _e("no limit" if limit is None else limit),
                f'<span class="text">{_e(c.get("about") or c.get("note") or f"{len(cols)} input(s)")}</span>',
            ]
        )
    head = ["source", "last day covered", "days old", "limit (days)", "note"]
    return f'<h2 id="freshness">Data freshness on {fc.asof}</h2>' + _table(head, rows)


def render(fc: Forecast, k: int) -> str:
    recs = day_records(fc, k)
    lab = fc.labels or {}
    where = ", ".join(str(x) for x in (lab.get("ward"), lab.get("hospital")) if x)
    title = f"{lab.get('outcome') or fc.target}" + (f" — {where}" if where else "")
    first, last = fc.days["date"][0], fc.days["date"][-1]
    obs = [[_e(r["date"]), _count(r["admissions"], k)] for r in observed_records(fc, k)[-14:]]
    run = RunDir(fc.run_dir).name  # the folder name only: no server path on the page
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}: forecast {fc.asof}</title><style>{CSS}</style></head><body>
<h1 id="title">{_e(title)}</h1>
<p class="sub" id="when">Forecast for {_e(_day(first))} to {_e(_day(last))} {last.year}, made on
<b>{_e(_day(fc.asof))} {fc.asof.year}</b> with the data published by then · area: {_e(lab.get("area") or fc.area)}</p>
{_banner(fc, recs)}
<ul class="facts" id="headline">
<li id="how-many"><b>How many</b> {_how_many(fc, k)}</li>
<li id="how-likely"><b>How likely</b> {_how_likely(fc, k)}</li>
<li id="why-short"><b>Why</b> {_why(fc)}</li>
<li id="data-short"><b>Data</b> {_freshness_words(fc)}</li>
</ul>
<picture><source media="(max-width: 600px)" srcset="data:image/png;base64,{_chart(fc, k, phone=True)}">
<img id="chart" alt="chart: recent and expected admissions, peak probability by day" src="data:image/png;base64,{_chart(fc, k)}"></picture>
{_days_table(fc, recs, k)}
<p class="note">Counts below {k} are shown as "&lt;{k}". Usual: mean admissions of the same
weeks in earlier years. Ranges: the model's {" and ".join(f"{round(100 * x)} %" for x in fc.intervals)} prediction intervals.</p>
{_levels(fc)}
{_decision(fc)}
{_drivers(fc)}
{_limits(fc)}
<h2 id="recent">Recent admissions (known on {fc.asof})</h2>{_table(["day", "admissions"], obs)}
{_freshness(fc)}
<footer id="about">Model {_e(fc.model)} · run {_e(run)} · respicast</footer>
</body></html>"""


def write_html(fc: Forecast, path, k: int) -> None:
    path.write_text(render(fc, k), encoding="utf-8")


__all__ = ["render", "write_html"]
