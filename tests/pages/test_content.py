"""The forecast page and the run report read as HTML (no browser): what a ward and an ML engineer
need is there, no server path, every small count suppressed, the alert budget stated."""

from __future__ import annotations

import json
import re

import numpy as np

K = 5


def strip_data_uris(html: str) -> str:
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:", html)


def _count_cells(html: str) -> list[str]:
    return [c.replace("&lt;", "<") for c in re.findall(r'<span class="count">([^<]*)</span>', html)]


def test_forecast_page_has_every_part_a_ward_reads(forecast_page, page_parts):
    html = forecast_page.read_text()
    for i in page_parts["forecast"]:
        assert f'id="{i}"' in html, i
    title = re.search(r'<h1 id="title">([^<]*)</h1>', html).group(1)
    assert "COPD and asthma admissions" in title and "Test Hospital" in title
    assert "respiratory medicine" in title
    assert 'name="viewport"' in html  # phone width
    # the chart and its phone version are embedded, nothing is fetched
    assert html.count("data:image/png;base64,") == 2 and 'src="http' not in html


def test_no_server_path_in_forecast_json(forecast_fixture, tmp_path):
    from respicast.forecast.export import write_json

    path = tmp_path / "forecast.json"
    write_json(forecast_fixture, path, K)
    assert json.loads(path.read_text())["run_dir"] == "2024-02-01_10-00-00"
    assert forecast_fixture.run_dir not in path.read_text() and "/srv/" not in path.read_text()


def test_no_server_path_on_the_page(forecast_page, forecast_fixture):
    html = forecast_page.read_text()
    text = strip_data_uris(html)
    assert forecast_fixture.run_dir not in text and "/srv/" not in text
    assert not re.findall(r"/[\w.-]+/[\w.-]+", text), "an absolute path is on the page"
    assert "run 2024-02-01_10-00-00" in text  # the run is named by its folder only


def test_every_count_below_k_is_suppressed(forecast_page, forecast_fixture):
    html = forecast_page.read_text()
    cells = _count_cells(html)
    assert len(cells) > 40
    for c in cells:
        assert c == f"<{K}" or float(c) >= K, c
    days = re.search(r'id="days">.*?</table>', html, re.S).group(0)
    assert "3.2" not in days and "4.4" not in days  # the two expected counts below K
    small = int((forecast_fixture.observed["admissions"].tail(14) < K).sum())
    recent = re.search(r'id="recent">.*?</table>', html, re.S).group(0)
    assert recent.count("&lt;5") == small > 0


def test_alert_budget_is_stated_and_marked(forecast_page, forecast_fixture):
    html = forecast_page.read_text()
    budget = re.search(r'<p id="budget">(.*?)</p>', html, re.S).group(1)
    assert "at most 6 days a month" in budget and "at most 2 days a month" in budget
    assert forecast_fixture.val_period in budget
    decision = re.search(r'id="decision">.*?</table>', html, re.S).group(0)
    assert re.search(r'<tr class="chosen"><td>6 ← watch</td>', decision)
    assert re.search(r'<tr class="chosen"><td>2 ← alert</td>', decision)
    assert decision.count("<tr") == 1 + 6  # header + one row per budget
    # the levels on the page are the ones the budget set
    d = forecast_fixture.days
    for p, w, a, lv in zip(
        d["peak_prob"], d["watch_threshold"], d["alert_threshold"], d["level"], strict=True
    ):
        assert lv == ("alert" if p >= a else "watch" if p >= w else "none")
    banner = re.search(r'id="level-banner"[^>]*>(.*?)</div>', html, re.S).group(1)
    worst = max(d["level"], key=("none", "watch", "alert").index)
    assert worst.upper() in banner or worst == "none"


def test_drivers_are_the_top_groups_with_direction(forecast_page):
    html = forecast_page.read_text()
    reasons = re.findall(r"<li><span class=\"(up|down)\">.</span> ([^<]*)</li>", html)
    assert [r[0] for r in reasons] == ["up", "up", "down"]
    assert reasons[0][1].startswith("Respiratory epidemics raise the peak risk, by 9 points")
    assert reasons[2][1].startswith("The weather lowers")


def test_what_the_data_could_not_say(forecast_page):
    html = forecast_page.read_text()
    limits = re.search(r'id="limits">.*?</ul>', html, re.S).group(0)
    assert "COVID-19 admissions: last data 320 days old" in limits
    short = re.search(r'id="data-short">(.*?)</li>', html, re.S).group(1)
    assert "COVID-19 admissions: not updated" in short
    assert "pollen_betula" in limits
    fresh = re.search(r'id="freshness">.*?</table>', html, re.S).group(0)
    assert "no limit" in fresh and "the series stopped in 2023" in fresh
    # the full list of inputs is kept (hover), not cut
    assert "weather_t_min, weather_t_max, weather_u_mean" in fresh


def test_run_report_is_readable(report_page, page_parts):
    html = report_page.read_text()
    for i in page_parts["report"]:
        assert i in html, i
    assert "{'" not in html and "[&#x27;" not in html  # no raw Python dict or list
    assert "<td>model.hidden_size</td><td>64</td>" in html
    assert "7 of 12, val/loss 0.5000" in html  # best epoch (0-based 6) from metrics.csv
    assert "<td>model.class</td>" not in html  # no _target_ in that synthetic config
    assert re.search(
        r"<td>weather</td><td>synop \(3h\)</td><td>2021-01-04 to 2022-05-18</td>", html
    )
    assert "<td>96.5 %</td>" in html  # weather: days with a value = 1 - mean missing
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert imgs and all(s.startswith("data:image/png;base64,") for s in imgs)
    assert any("Learning curves" in a for a in re.findall(r'<img alt="([^"]+)"', html))


def test_decision_view_in_the_report_follows_the_budget(report_page):
    html = report_page.read_text()
    sec = re.search(r"Decision view.*?</table>", html, re.S).group(0)
    rows = re.findall(r"<tr><td>h=(\d) d</td><td>([\d.]+)</td><td>([\d.]+)</td>", sec)
    assert {h for h, _, _ in rows} == {"1", "7"}
    assert sec.count("<td>training threshold</td>") == 2  # where the metrics were counted
    for h in ("1", "7"):
        thr = [float(t) for hh, _, t in rows if hh == h]
        assert thr == sorted(thr, reverse=True) and len(set(thr)) > 1  # bigger budget, lower bar
    caught = [float(c) for c in re.findall(r"<td>(\d+) %</td>", sec)]
    assert caught and all(0 <= c <= 100 for c in caught) and np.ptp(caught) > 0
