"""Charts drawn by the vendored plotly.js basic bundle (views/present.py chart), not Streamlit's PlotlyChart chunk:
no request for that chunk, the bundle loaded once, every chart drawn with its traces at its figure's height, the PNG
download with its Chinese tooltip, a rerun that keeps a figure not drawing it anew, the phone's width followed; and
the figure JSON in the page is data, whatever names the data files hold."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import plotly.graph_objects as go
import pytest

from junheng.i18n import t
from junheng.tools.browser import is_local, script_runs, streamlit_server, wait_for_page
from junheng.views import present
from tests.hostile import NAMES

COUNTY = "370724"


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.scripts = [], []
        self._in = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = dict(attrs).get("type") if tag == "script" else None

    def handle_data(self, data):
        if self._in is not None:
            self.scripts.append((self._in, data))


def test_hostile_names_in_a_figure_stay_data_in_the_chart_element():
    names = [*NAMES[:-1], "行\u2028分隔\u2029段", "a & b &amp; <!-- -->"]
    fig = go.Figure([go.Bar(x=names, y=list(range(len(names))), name=NAMES[4], text=names)])
    fig.update_layout(title=NAMES[3], height=321)
    body = present.chart_html(fig, NAMES[3], present.chart_config("zh", "trend"))
    parsed = _Elements()
    parsed.feed(body)
    # the box, its JSON, the element Plotly draws in and the one script: no element from a name
    assert [tag for tag, _ in parsed.tags] == ["div", "script", "div", "script"]
    box = parsed.tags[0][1]
    assert box["data-testid"] == "stPlotlyChart" and "stPlotlyChart" in box["class"].split()
    assert box["data-key"] == NAMES[3]  # an attribute, escaped: read back as the same text
    assert "height:321px" in box["style"]
    kind, text = parsed.scripts[0]
    assert kind == "application/json"
    # nothing that ends the script element, opens a comment or a tag, or ends a JavaScript line; and no '<'
    # before a letter or '/': Streamlit's sanitizer (DOMPurify) drops a script whose text looks like markup
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    data = present.chart_data(body)
    assert data == json.loads(text)
    assert data["figure"]["data"][0]["x"] == names and data["figure"]["data"][0]["name"] == NAMES[4]
    assert data["figure"]["layout"]["title"]["text"] == NAMES[3]
    assert data["config"]["locale"] == "zh-CN"


def test_default_height_is_plotlys_own():
    body = present.chart_html(go.Figure(go.Scatter(x=[1], y=[1])), "k", present.chart_config("en", "k"))
    assert f"height:{present.DEFAULT_HEIGHT}px" in body and present.DEFAULT_HEIGHT == 450


def test_the_vendored_bundle_is_compressed_by_the_launcher_not_streamlit_on_every_request():
    """Streamlit's own middleware gzips /app/static/… anew on each request (level 9, no Brotli): the launcher's
    asks it for the plain body and compresses that once (junheng/tools/compression.py)."""
    import asyncio
    import gzip

    from junheng.tools import compression
    script = b"var Plotly = {};" * 5000
    seen = []

    async def streamlit(scope, receive, send):  # gzips when asked, as Streamlit's middleware does
        accept = dict(scope["headers"]).get(b"accept-encoding", b"")
        seen.append(accept)
        packed = b"gzip" in accept
        headers = [(b"content-type", b"application/javascript")] + ([(b"content-encoding", b"gzip")] if packed else [])
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": gzip.compress(script, 9) if packed else script})

    def get(path):
        sent = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request"}
        scope = {"type": "http", "method": "GET", "path": path, "headers": [(b"accept-encoding", b"gzip, deflate")]}
        asyncio.run(compression.GzipAssets(streamlit)(scope, receive, send))
        return dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])

    headers, body = get("/app/static/vendor/plotly/plotly-basic.min.js")
    assert seen[-1] == b"" and headers[b"content-encoding"] == b"gzip" and gzip.decompress(body) == script
    get("/static/js/index.js")  # Streamlit's own bundles: asked as the browser asked
    assert seen[-1] == b"gzip, deflate"


@pytest.fixture(scope="module")
def server(demo_data):
    with streamlit_server(demo_data) as url:
        yield url


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    pg.requests = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    yield pg
    context.close()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=120_000)  # pages with charts
    wait_for_page(page)


CHARTS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].map(box => {
  const plot = box.querySelector('.js-plotly-plot');
  const figure = JSON.parse(box.querySelector('script.jh-chart-data').textContent).figure;
  return {key: box.dataset.key, traces: figure.data.length, height: figure.layout.height || 450,
          drawn: plot ? plot.querySelectorAll('.main-svg .trace').length : 0,
          boxWidth: box.getBoundingClientRect().width, boxHeight: box.getBoundingClientRect().height,
          plotWidth: plot ? plot._fullLayout.width : 0, plotHeight: plot ? plot._fullLayout.height : 0,
          svgWidth: plot ? plot.querySelector('.main-svg').getBoundingClientRect().width : 0};
})"""


@pytest.mark.browser
def test_charts_come_from_the_vendored_basic_bundle(server, page):
    _open(page, f"{server}/biaozhun?county={COUNTY}")
    assert [u for u in page.requests if "/static/js/PlotlyChart" in u] == []
    assert len([u for u in page.requests if u.endswith("/app/static/vendor/plotly/plotly-basic.min.js")]) == 1
    assert all(is_local(u) for u in page.requests)  # nothing from the internet
    charts = page.evaluate(CHARTS)
    assert [c["key"] for c in charts] == ["std_trend_zh", "class_trend_zh", "class_counts_zh"]
    for c in charts:
        assert c["drawn"] == c["traces"] > 0, c  # every trace drawn
        assert c["boxHeight"] == c["height"] == c["plotHeight"], c  # the figure's height: no jump, no scroll bar
        assert abs(c["plotWidth"] - c["boxWidth"]) <= 1 and c["svgWidth"] <= c["boxWidth"] + 1, c
    # the two trends side by side, the class counts across the content's width
    widths = [c["boxWidth"] for c in charts]
    assert abs(widths[0] - widths[1]) <= 1 and widths[2] > 1.8 * widths[0]
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.hover()
    button = chart.locator(f'.modebar-btn[data-title="{t("plotly_download_png", "zh")}"]')
    assert button.count() == 1
    assert chart.locator(".modebar-btn--logo").count() == 0  # no Plotly logo
    titles = [b.get_attribute("data-title") or "" for b in chart.locator(".modebar-btn").all()]
    assert titles and all(re.search(r"[\u4e00-\u9fff]", title) for title in titles), titles  # no "Share chart..."


@pytest.mark.browser
def test_a_rerun_draws_only_the_changed_figures_and_a_language_switch_draws_anew(server, page):
    _open(page, f"{server}/biaozhun?county={COUNTY}")
    mark = "() => document.querySelectorAll('.js-plotly-plot').forEach((p, i) => { p.__mark = 'm' + i; })"
    marks = "() => [...document.querySelectorAll('.js-plotly-plot')].map(p => p.__mark || null)"
    page.evaluate(mark)
    before = page.evaluate(CHARTS)
    runs = script_runs(page)
    page.locator(".st-key-class_profile button").nth(1).click()  # another class-size rule: the class trend changes
    wait_for_page(page, after_runs=runs)
    after = page.evaluate(CHARTS)
    kept = page.evaluate(marks)
    assert kept[0] == "m0"  # the standardization trend: the same element, not drawn again
    assert kept[1] is None  # the class-size trend: a new figure, drawn anew
    assert all(c["drawn"] == c["traces"] > 0 for c in after)
    assert [c["key"] for c in after] == [c["key"] for c in before]
    runs = script_runs(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("English").click()
    wait_for_page(page, after_runs=runs)
    assert page.evaluate(marks) == [None, None, None]
    charts = page.evaluate(CHARTS)
    assert [c["key"] for c in charts] == ["std_trend_en", "class_trend_en", "class_counts_en"]
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.hover()
    assert chart.locator(f'.modebar-btn[data-title="{t("plotly_download_png", "en")}"]').count() == 1
    assert len([u for u in page.requests if "plotly-basic.min.js" in u]) == 1  # loaded once for the browser page


@pytest.mark.browser
def test_charts_follow_the_width_down_to_a_phone(server, page):
    _open(page, f"{server}/liushou?county={COUNTY}")
    wide = page.evaluate(CHARTS)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(1200)
    narrow = page.evaluate(CHARTS)
    assert len(wide) == len(narrow) >= 2
    for w, n in zip(wide, narrow):
        assert n["boxWidth"] < 390 < w["boxWidth"], (w, n)
        assert abs(n["plotWidth"] - n["boxWidth"]) <= 1 and n["svgWidth"] <= n["boxWidth"] + 1, n
        assert n["drawn"] == n["traces"] > 0
    overflow = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth")
    assert overflow <= 390
