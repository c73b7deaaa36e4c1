"""forecast.html: one self-contained page (inline CSS, the chart as an inline PNG) for the ward.

Counts below k never appear: table cells show "<k", and the chart draws the band below k as a
grey zone with suppressed observations as hollow markers inside it (no value can be read off).
"""

from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from respicast.forecast.core import Forecast  # noqa: E402
from respicast.forecast.export import day_records, observed_records  # noqa: E402

COLORS = {"none": "#2e7d32", "watch": "#ef8f00", "alert": "#c62828"}
CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}.lvl{color:#fff;font-weight:bold;border-radius:4px;padding:2px 6px}
.banner{padding:1em;border-radius:6px;color:#fff;font-size:1.2em}.note{color:#555;font-size:.9em}
.stale{color:#c62828;font-weight:bold}"""


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def _chart(fc: Forecast, k: int) -> str:
    """PNG (base64) of recent observed admissions, the forecast bands and peak probabilities."""
    obs_d = fc.observed["date"].to_numpy()
    obs = fc.observed["admissions"].to_numpy().astype(float)
    d = fc.days
    days = d["date"].to_numpy()
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(9, 5.5), height_ratios=[3, 1.4], sharex=True)
    shown = np.where(obs >= k, obs, np.nan)
    ax.plot(obs_d, shown, "o-", ms=3, color="#333", label="observed admissions")
    small = np.isfinite(obs) & (obs < k)
    ax.plot(
        obs_d[small],
        np.full(small.sum(), k / 2),
        "o",
        ms=4,
        mfc="none",
        color="#777",
        label=f"observed <{k} (suppressed)" if small.any() else None,
    )
    for lv, alpha in zip(sorted(fc.intervals, reverse=True), (0.18, 0.32), strict=False):
        p = round(100 * lv)
        lo, hi = (
            np.maximum(d[f"lower_{p}"].to_numpy(), k),
            np.maximum(d[f"upper_{p}"].to_numpy(), k),
        )
        ax.fill_between(days, lo, hi, color="#1565c0", alpha=alpha, lw=0, label=f"{p} % interval")
    ax.plot(
        days, np.maximum(d["expected"].to_numpy(), k), "s-", color="#1565c0", ms=4, label="expected"
    )
    ax.plot(
        days, d["peak_threshold"].to_numpy(), "--", color="#c62828", lw=1, label="peak threshold"
    )
    if k > 0:
        ax.axhspan(0, k, color="#bbb", alpha=0.5, lw=0)
        ax.text(
            obs_d[0] if len(obs_d) else days[0],
            k / 2,
            f" counts <{k} not shown",
            va="center",
            fontsize=8,
            color="#444",
        )
    ax.set_ylim(bottom=0)
    ax.set_ylabel("admissions per day")
    ax.legend(fontsize=7, ncol=3, loc="upper left")
    p = 100 * d["peak_prob"].to_numpy()
    bx.bar(days, np.nan_to_num(p), color=[COLORS[x] for x in d["level"]], width=0.8)
    for lv in ("watch", "alert"):
        thr = 100 * d[f"{lv}_threshold"].to_numpy()
        bx.step(days, thr, where="mid", color=COLORS[lv], lw=1, label=lv)
    bx.legend(fontsize=7, loc="upper left")
    bx.set_ylabel("peak prob. %")
    bx.set_ylim(
        0,
        max(100 * float(np.nanmax(d["alert_threshold"].to_numpy())) * 1.2, np.nanmax(p) * 1.2, 10),
    )
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _rows(cells: list[list]) -> str:
    return "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)


def render(fc: Forecast, k: int) -> str:
    recs = day_records(fc, k)
    worst = max(recs, key=lambda r: ("none", "watch", "alert").index(r["level"]))["level"]
    pcts = [round(100 * x) for x in fc.intervals]
    head = [
        "day",
        "expected",
        *[f"{p} % interval" for p in pcts],
        "peak threshold",
        "peak probability",
        "level",
    ]
    body = []
    for r in recs:
        prob = "—" if r["peak_prob"] is None else f"{100 * r['peak_prob']:.0f} %"
        body.append(
            [
                _e(r["day"]),
                f'<span class="count">{_e(r["expected"])}</span>',
                *[
                    f'<span class="count">{_e(r[f"lower_{p}"])}</span>–<span class="count">{_e(r[f"upper_{p}"])}</span>'
                    for p in pcts
                ],
                f'<span class="count">{_e(r["peak_threshold"])}</span>',
                prob,
                f'<span class="lvl" style="background:{COLORS[r["level"]]}">{r["level"]}</span>',
            ]
        )
    drivers = "".join(f"<li>{_e(x['text'])}</li>" for x in fc.driver_lines) or (
        "<li>No variable group moves any day's peak probability by 1 point or more.</li>"
    )
    summary = ", ".join(
        f"{_e(g)} {v:+.1f}" for g, v in sorted(fc.driver_summary.items(), key=lambda t: -abs(t[1]))
    )
    fresh = []
    for name, c in fc.coverage.items():
        age = c.get("staleness_days")
        cls = ' class="stale"' if c.get("stale") else ""
        fresh.append(
            [
                _e(name),
                _e(c.get("last_covered") or "unknown"),
                f"<span{cls}>{_e('—' if age is None else age)}</span>",
                _e(c.get("max_staleness_days", "—")),
                _e(", ".join(c.get("columns", []))[:80]),
            ]
        )
    filled = "".join(
        f"<li>{_e(f['column'])} ({_e(f['group'])}): {f['days']} day(s) filled, last {_e(f['last_filled'])}"
        + (f"; {f['left_missing']} left missing (training mean)" if f["left_missing"] else "")
        + "</li>"
        for f in fc.filled
    )
    obs = [
        [_e(r["date"]), f'<span class="count">{_e(r["admissions"])}</span>']
        for r in observed_records(fc, k)[-14:]
    ]
    notes = "".join(f"<li>{_e(n)}</li>" for n in fc.notes + [f"stale: {s}" for s in fc.stale])
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Admissions forecast {fc.asof}</title><style>{CSS}</style></head><body>
<h1>{_e(fc.target)}: the next {len(recs)} days</h1>
<p>As of <b>{fc.asof}</b> (nothing published later is used) · area {_e(fc.area)} · model {_e(fc.model)}</p>
<div class="banner" style="background:{COLORS[worst]}">Highest level this week: {worst.upper()}</div>
<img alt="forecast chart" src="data:image/png;base64,{_chart(fc, k)}">
<h2>Forecast</h2><table><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr>{_rows(body)}</table>
<p class="note">Peak = more admissions than the peak threshold. Levels: watch from the decision threshold
chosen on validation, alert from {_e(fc.thresholds[1]["alert_rule"])}. Counts below {k} are shown as "&lt;{k}".</p>
<h2>What drives it</h2><ul>{drivers}</ul>
<p class="note">Mean change of the peak probability over the week (points) when a group's inputs are set to
their usual (training-mean) values: {summary or "—"}.</p>
<h2>Recent admissions (known on {fc.asof})</h2><table><tr><th>day</th><th>admissions</th></tr>{_rows(obs)}</table>
<h2>Data freshness on {fc.asof}</h2>
<table><tr><th>source</th><th>last day covered</th><th>days old</th><th>limit</th><th>columns</th></tr>{_rows(fresh)}</table>
<h2>Missing recent values</h2><ul>{filled or "<li>None in the lookback.</li>"}</ul>
<p class="note">Fill rule: {_e(fc.fill_rule)}.</p>
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
<p class="note">Run: {_e(fc.run_dir)}</p></body></html>"""


def write_html(fc: Forecast, path, k: int) -> None:
    path.write_text(render(fc, k), encoding="utf-8")


__all__ = ["render", "write_html"]
