"""Both pages rendered in headless Chromium at desktop and phone width: screenshots not blank,
every image loaded, the page's parts in the DOM, no sideways scrolling on a phone.

Needs the Debian `chromium` package; the set-up installs it with apt-get when it is missing and
this process may (root), and skips, saying why, only when it cannot.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
WIDTHS = {"desktop": 1280, "phone": 400}
# Headless Chromium lays a window out at least 500 px wide, so the page is shown in an iframe of
# the wanted width (its media queries follow the iframe). A probe added to the page reports, after
# load, what the browser made of the images and the layout to the wrapper (postMessage works
# across file:// origins), which writes it into its own DOM for --dump-dom.
PROBE = """<script>window.addEventListener("load", () => {
  const imgs = [...document.images].map(i => ({w: i.naturalWidth, h: i.naturalHeight,
    done: i.complete,
    src: (i.currentSrc || i.src).slice(0, 22)}));
  parent.postMessage(JSON.stringify({imgs, width: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    ids: [...document.querySelectorAll("[id]")].map(e => e.id),
    headings: [...document.querySelectorAll("h2,h3,figcaption")].map(e => e.textContent)}), "*");
});</script>"""
WRAPPER = """<!DOCTYPE html><html><body style="margin:0"><div id="probe"></div>
<iframe src="{src}" style="border:0;width:{w}px;height:{h}px;display:block"></iframe>
<script>addEventListener("message", e => {{document.getElementById("probe")
  .setAttribute("data-probe", e.data);}});</script></body></html>"""


def _install() -> str | None:
    if shutil.which("chromium"):
        return shutil.which("chromium")
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        if subprocess.run(cmd, capture_output=True, env=env, timeout=900).returncode:
            return None
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium() -> str:
    exe = _install()
    if exe is None:
        pytest.skip("chromium is not installed and could not be installed (apt-get needs root)")
    return exe


def _chromium(exe: str, window: tuple[int, int], *args: str) -> subprocess.CompletedProcess:
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    cmd += [f"--window-size={window[0]},{window[1]}", "--virtual-time-budget=8000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def render(exe: str, page: Path, width: int, png: Path, work: Path) -> dict:
    """Load `page` at `width` px: the probe's findings, and a full-length screenshot at `png`."""
    copy = work / f"probed_{width}_{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))

    def wrapped(height: int) -> tuple[str, tuple[int, int]]:
        wrapper = work / f"wrap_{width}_{page.stem}.html"
        wrapper.write_text(WRAPPER.format(src=copy.name, w=width, h=height))
        return wrapper.as_uri(), (max(width, 500), height)

    uri, window = wrapped(2000)
    res = _chromium(exe, window, "--dump-dom", uri)
    m = re.search(r'data-probe="([^"]*)"', res.stdout)
    assert m, f"the page's probe did not report: {res.stderr[-2000:]}"
    probe = json.loads(html.unescape(m.group(1)))
    uri, window = wrapped(int(probe["height"]) + 20)
    _chromium(exe, window, f"--screenshot={png}", uri)
    from PIL import Image

    with Image.open(png) as img:  # the wrapper is at least 500 px wide: keep the iframe
        img.crop((0, 0, width, window[1])).save(png)
    return probe


def _not_blank(png: Path) -> None:
    from PIL import Image

    img = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert img.std() > 10, f"{png.name} looks blank (std {img.std():.1f})"
    assert (img < 128).mean() > 0.01, f"{png.name} has almost no dark pixel (no text)"


@pytest.mark.parametrize("width_name", list(WIDTHS))
@pytest.mark.parametrize("page_name", ["forecast", "report"])
def test_page_renders_in_chromium(
    chromium, forecast_page, report_page, page_parts, page_name, width_name, tmp_path
):
    page = {"forecast": forecast_page, "report": report_page}[page_name]
    width = WIDTHS[width_name]
    png = tmp_path / f"{page_name}_{width_name}.png"
    probe = render(chromium, page, width, png, page.parent)
    _not_blank(png)
    assert probe["width"] == width  # the page was laid out at that width
    assert probe["imgs"], "no image on the page"
    for img in probe["imgs"]:
        assert img["done"] and img["w"] > 0, f"an image did not load: {img}"
        assert img["src"].startswith("data:image/png"), img
    # a phone scrolls down, never sideways (wide tables scroll inside their own box)
    assert probe["scrollWidth"] <= width, probe["scrollWidth"]
    if page_name == "forecast":
        assert set(page_parts["forecast"]) <= set(probe["ids"])
        chart = probe["imgs"][0]  # the phone chart (taller than wide) is chosen on a phone
        assert (chart["h"] > chart["w"]) == (width_name == "phone"), chart
    else:
        text = " ".join(probe["headings"])
        assert all(part in text for part in page_parts["report"]), text


if __name__ == "__main__":  # screenshots of any page: python tests/pages/test_browser.py PAGE OUT
    import sys
    import tempfile

    exe, out = _install(), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / Path(sys.argv[1]).name
        shutil.copy(sys.argv[1], page)
        for name, w in WIDTHS.items():
            png = out / f"{page.stem}_{name}.png"
            probe = render(exe, page, w, png, Path(tmp))
            print(png, {k: probe[k] for k in ("width", "scrollWidth", "height")},
                  [i["w"] for i in probe["imgs"]])  # fmt: skip
