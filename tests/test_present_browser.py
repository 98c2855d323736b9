"""Presentation mode at 1280x720 (issue 27 item 3): every screen of every step of 临朐's presentation fits the
window without scrolling, and nothing is zoomed below the readable floor (present.FIT_MIN). One server, one
browser, one page."""
from __future__ import annotations

import re

import pytest

from junheng.tools.browser import streamlit_server, wait_for_page
from junheng.views import present

pytestmark = pytest.mark.browser
COUNTY = "370724"
MEASURE = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const doc = document.scrollingElement;
  const mark = document.getElementById('junheng-screen');
  const zooms = Array.from(document.querySelectorAll('[data-testid="stMainBlockContainer"] *'))
    .filter(e => e.style.zoom && e.offsetParent !== null).map(e => parseFloat(e.style.zoom));
  const elements = '[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]';
  const shown = Array.from(document.querySelectorAll(elements)).filter(e => e.offsetParent !== null
    && !e.closest('.st-key-present_bar') && e.getBoundingClientRect().height > 0);
  return {main: main.scrollHeight - main.clientHeight, doc: doc.scrollHeight - innerHeight,
          mark: mark ? mark.textContent : '', zoom: Math.min(1, ...zooms), shown: shown.length};
}"""


@pytest.fixture(scope="module")
def server(demo_data):
    with streamlit_server(demo_data) as url:
        yield url


def test_every_screen_fits_at_1280x720(server, browser):
    page = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN").new_page()
    screens, problems = 0, []
    for i, step in enumerate(present.STEPS):
        view = f"&evaluation_view={step.view}" if step.view and step.view != "tab_county" else ""
        page.goto(f"{server}/{step.url_path}?present=1&county={COUNTY}&year=2025{view}")
        wait_for_page(page, timeout_ms=180_000)
        page.wait_for_timeout(800)  # the screens are packed 150 ms after the last change
        for k in range(1, 40):
            m = page.evaluate(MEASURE)
            screens += 1
            where = f"step {i + 1} {step.title} screen {k}{m['mark']}"
            if m["doc"] > 2 or m["main"] > 2:
                problems.append(f"{where} scrolls by {max(m['doc'], m['main'])} px")
            if m["zoom"] < present.FIT_MIN - 1e-3:
                problems.append(f"{where} zoomed to {m['zoom']}")
            if m["shown"] == 0:
                problems.append(f"{where} shows nothing")
            found = re.search(r"\((\d+)/(\d+)\)", m["mark"])
            if not found or found.group(1) == found.group(2):
                break
            page.locator(".st-key-present_next button").click()
            page.wait_for_timeout(400)
            assert f"{i + 1} / {len(present.STEPS)}" in page.locator(".st-key-present_bar").inner_text()
    page.context.close()
    assert screens > len(present.STEPS)  # the long steps were split
    assert problems == [], problems
