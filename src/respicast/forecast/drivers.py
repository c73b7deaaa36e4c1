"""Which variable groups drive a forecast: ablate one group at a time and see what changes.

A group's past channels over the whole lookback are replaced by their training mean (0 after
scaling, the same value a missing input gets); the calendar's future channels likewise. The
admissions history is replaced by a flat history at its trailing level (recent counts "as usual").
The contribution of a group = calibrated peak probability with the real inputs minus with the
group ablated: positive means the group raises the peak probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from respicast.dataset.windows import WindowSet


@dataclass
class Ablation:
    groups: list[str]
    windows: WindowSet  # row 0 = actual inputs, row i = group i-1 ablated


def ablated_windows(ws: WindowSet, has_history: bool) -> Ablation:
    """Stack the actual window (1 origin) and one copy per group with that group neutralised."""
    groups = sorted(set(ws.past_groups) | set(ws.future_groups))
    if has_history and "history" not in groups:
        groups.insert(0, "history")
    n = 1 + len(groups)

    def rep(a: np.ndarray) -> np.ndarray:
        return np.repeat(np.asarray(a), n, axis=0).copy()

    hist, past, fut = rep(ws.history), rep(ws.past), rep(ws.future)
    past_g, fut_g = np.array(ws.past_groups), np.array(ws.future_groups)
    for i, g in enumerate(groups, start=1):
        if g == "history" and has_history:
            known = np.isfinite(hist[i])
            hist[i, known] = ws.level[0]
        if past.shape[2]:
            past[i][:, past_g == g] = 0.0
        if fut.shape[2]:
            fut[i][:, fut_g == g] = 0.0
    stacked = WindowSet(
        origins=rep(ws.origins),
        history=hist,
        past=past,
        future=fut,
        level=rep(ws.level),
        threshold=rep(ws.threshold),
        y_count=rep(ws.y_count),
        y_peak=rep(ws.y_peak),
        past_names=ws.past_names,
        future_names=ws.future_names,
        past_groups=ws.past_groups,
        future_groups=ws.future_groups,
        series=None if ws.series is None else rep(ws.series),
        step_days=ws.step_days,
    )
    return Ablation(groups, stacked)


WORDS = {
    "history": "recent admissions",
    "pollution": "air pollution",
    "pollen": "pollen",
    "epidemics": "respiratory epidemics",
    "weather": "the weather",
    "calendar": "the calendar (weekday, holidays)",
}


PLURAL = {"recent admissions", "respiratory epidemics"}


def sentence(group: str, delta_points: float, day_label: str) -> str:
    what = WORDS.get(group, group)
    plural = what in PLURAL
    verb = ("raise" if delta_points > 0 else "lower") + ("" if plural else "s")
    n = abs(delta_points)
    amount = f"{n:.0f} point{'s' if round(n) != 1 else ''}" if n >= 1 else "less than 1 point"
    return f"{what[0].upper()}{what[1:]} {verb} the peak probability for {day_label} by {amount}"


def driver_table(
    groups: list[str],
    prob: np.ndarray,
    count: np.ndarray,
    day_labels: list[str],
    *,
    min_points: float = 1.0,
    top: int = 3,
) -> tuple[list[dict], list[dict]]:
    """prob, count: [1 + G, H] calibrated probabilities / expected counts (row 0 actual).

    Returns one record per (group, day) and the plain-words lines ({horizon, day, group, text})
    for the `top` largest effects of each day that reach `min_points`.
    """
    records, lines = [], []
    for gi, g in enumerate(groups, start=1):
        for h, label in enumerate(day_labels):
            dp = 100 * (prob[0, h] - prob[gi, h])
            records.append(
                {
                    "group": g,
                    "horizon": h + 1,
                    "day": label,
                    "peak_prob_points": round(float(dp), 2) if np.isfinite(dp) else None,
                    "expected_change": round(float(count[0, h] - count[gi, h]), 2),
                }
            )
    for h, label in enumerate(day_labels):
        day = [r for r in records if r["horizon"] == h + 1 and r["peak_prob_points"] is not None]
        day.sort(key=lambda r: -abs(r["peak_prob_points"]))
        lines += [
            {
                "horizon": h + 1,
                "day": label,
                "group": r["group"],
                "text": sentence(r["group"], r["peak_prob_points"], label),
            }
            for r in day[:top]
            if abs(r["peak_prob_points"]) >= min_points
        ]
    return records, lines


def group_summary(records: list[dict]) -> dict[str, float]:
    """Mean contribution (points) of each group over the horizon: the headline per group."""
    out: dict[str, list[float]] = {}
    for r in records:
        if r["peak_prob_points"] is not None:
            out.setdefault(r["group"], []).append(r["peak_prob_points"])
    return {g: round(float(np.mean(v)), 2) for g, v in out.items()}


def summary_lines(summary: dict[str, float], min_points: float = 1.0, top: int = 3) -> list[dict]:
    """The `top` groups whose mean effect over the week reaches `min_points`, largest first, as
    {group, points, direction, text}: the two or three reasons a ward reads."""
    ranked = sorted(summary.items(), key=lambda kv: -abs(kv[1]))
    out = []
    for g, pts in ranked[:top]:
        if abs(pts) < min_points:
            continue
        what = WORDS.get(g, g)
        verb = ("raise" if pts > 0 else "lower") + ("" if what in PLURAL else "s")
        n = abs(pts)
        out.append(
            {
                "group": g,
                "points": pts,
                "direction": "up" if pts > 0 else "down",
                "text": f"{what[0].upper()}{what[1:]} {verb} the peak risk, by {n:.0f} "
                f"point{'s' if round(n) != 1 else ''} on average this week",
            }
        )
    return out
