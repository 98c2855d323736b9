"""The meeting kit's screen parts: presentation mode (sidebar toggle or ?present=1), the print style sheet, charts
with a PNG download whose toolbar speaks the screen's language, and a Chinese
screen with none of Streamlit's own English."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import plotly.io as pio
import streamlit as st

from junheng import escape
from junheng.i18n import t
from junheng.views import builtin_texts, link_state, links


@dataclass(frozen=True)
class Step:
    script: str          # the page file the frame runs
    url_path: str        # its URL path ('' for the default page)
    title: str           # i18n key of the step's title
    view: str | None = None   # the evaluation page's view, when the step is one of them


# The county's key views, in the order a presenter steps through them.
STEPS = (
    Step("pages/overview.py", "", "page_overview"),
    Step("pages/evaluation.py", "pinggu", "tab_county", "tab_county"),
    Step("pages/evaluation.py", "pinggu", "tab_schools", "tab_schools"),
    Step("pages/evaluation.py", "pinggu", "tab_rectification", "tab_rectification"),
    Step("pages/evaluation.py", "pinggu", "tab_plan", "tab_plan"),
    Step("pages/gaps.py", "chengxiang", "page_gaps"),
    Step("pages/left_behind.py", "liushou", "page_left_behind"),
    Step("pages/standardization.py", "biaozhun", "page_standardization"),
)
VIEW_KEY = "evaluation_view"


def current_step(url_path: str, view: str | None) -> int:
    """The index of the step shown (page and, on the evaluation page, its view), or -1 for a page not in STEPS."""
    for i, step in enumerate(STEPS):
        if step.url_path == url_path and (step.view is None or step.view == (view or "tab_county")):
            return i
    return -1


def mode(lang: str) -> bool:
    """The presentation toggle in the sidebar, also ?present=1 in the link (an invalid value gets a notice)."""
    raw = link_state.from_link("present")
    if raw is not None:
        value = raw[-1] if raw else "0"
        problem = links.check("present", value)
        if problem:
            st.warning(t(f"link_{problem}", lang, name="present", value=escape.markdown(value, limit=24)))
        else:
            st.session_state["present"] = value == "1"
    on = st.sidebar.toggle(t("present_mode", lang), key="present", help=t("present_help", lang))
    link_state.to_link({"present": 1 if on else None})
    return on


def _go(index: int) -> None:
    """Show step index: its page with the link's county, year, language and presentation mode kept."""
    step = STEPS[index]
    params = {k: st.query_params.get_all(k) for k in st.query_params if k != VIEW_KEY}
    if step.view and step.view != "tab_county":
        params[VIEW_KEY] = [step.view]
    # Widgets' states do not survive st.switch_page: the next run reads the view from the link, as for a
    # pasted link.
    st.session_state[link_state.URL_LAST] = {}
    st.switch_page(step.script, query_params=params)


def _leave() -> None:
    st.session_state["present"] = False


def bar(lang: str, url_path: str) -> None:
    """上一页 / n of N · title / 下一页 / 退出演示: the presenter's only controls (the rest are hidden)."""
    # The link names the view (the default left out) before the page's own control reads it: the bar comes first.
    index = current_step(url_path, st.query_params.get(VIEW_KEY))
    with st.container(key="present_bar", horizontal=True, vertical_alignment="center"):
        if st.button(t("present_previous", lang), key="present_previous", disabled=index <= 0,
                     icon=":material/arrow_back:"):
            _go(index - 1)
        shown = t(STEPS[index].title, lang) if index >= 0 else "—"
        st.markdown(t("present_position", lang, n=index + 1 if index >= 0 else "–", total=len(STEPS), title=shown))
        if st.button(t("present_next", lang), key="present_next", disabled=index >= len(STEPS) - 1,
                     icon=":material/arrow_forward:"):
            _go(index + 1)
        st.button(t("present_exit", lang), key="present_exit", on_click=_leave, icon=":material/close:")


# Hidden in presentation mode: the sidebar, Streamlit's header and every control but the presenter's bar.
CONTROLS = ('[data-testid="stSelectbox"]', '[data-testid="stRadio"]', '[data-testid="stButtonGroup"]',
            '[data-testid="stMultiSelect"]', '[data-testid="stTextArea"]', '[data-testid="stTextInput"]',
            '[data-testid="stSlider"]', '[data-testid="stCheckbox"]', '[data-testid="stDownloadButton"]',
            '[data-testid="stExpander"]', '[data-testid="stFileUploader"]', '[data-testid="stNumberInput"]',
            '[data-testid="stButton"]:not(.st-key-present_bar *)', '[data-testid="stElementToolbar"]',
            '[data-testid="stToggle"]')
PRESENT_CSS = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
.stMain %(controls)s { display: none !important; }
html { font-size: 21px; }
[data-testid="stMainBlockContainer"] { max-width: 100%% !important; padding: .5rem 2.5rem .5rem !important; }
.stMain [data-testid="stCaption"], .stMain .junheng-offscreen { display: none !important; }
.stMain .junheng-parked { position: fixed !important; left: -300vw !important; top: 0 !important;
  visibility: hidden !important; }
.st-key-present_bar { position: sticky; top: 0; z-index: 999; background: #fff; border-bottom: 2px solid #1f5fa8;
  padding: .3rem 0; }
.st-key-present_bar p { font-size: 1.3rem; font-weight: 600; margin: 0; }
"""

# Printing any page: A4, nothing but the content, no chart or map split across pages. Streamlit's app is a
# full-height scrolling box; in print it must flow, or only the first screen would be printed.
PRINT_CSS = """
@media print {
  @page { size: A4; margin: 12mm 10mm; }
  html, body, .stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"], .stMain,
  [data-testid="stMainBlockContainer"] { height: auto !important; min-height: 0 !important;
    overflow: visible !important; position: static !important; }
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
  [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"], .st-key-present_bar,
  .modebar-container, .stMain %(controls)s, [data-testid="stDataFrameResizable"] + div { display: none !important; }
  [data-testid="stMainBlockContainer"] { width: 100%% !important; max-width: 100%% !important; padding: 0 !important;
    zoom: 0.62 !important; }
  .jh-chart .js-plotly-plot, .jh-chart .svg-container { width: 100%% !important; max-width: 100%% !important; }
  .stPlotlyChart, [data-testid="stIFrame"], iframe, [data-testid="stDataFrame"], [data-testid="stMetric"],
  [data-testid="stAlert"], [data-testid="stVerticalBlockBorderWrapper"] { break-inside: avoid;
    page-break-inside: avoid; }
  h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  * { -webkit-print-color-adjust: exact !important; print-color-adjust: exact !important; }
}
"""

# A Chinese screen shows none of Streamlit's own English: its element toolbars keep only an editor's add and
# delete buttons, without their English tooltips (Search, Download as CSV, Fullscreen go); "Press Enter to
# apply", the running indicator, the main menu and Streamlit's own message boxes ("Page not found"; the app has
# no dialogs of its own, which would hold a block of elements) go too.
CHINESE_CSS = """
[data-testid="stElementToolbarButton"]:has(button[aria-label="Search"]),
[data-testid="stElementToolbarButton"]:has(button[aria-label="Fullscreen"]),
[data-testid="stElementToolbarButton"]:has(button[aria-label="Show/hide columns"]),
[data-testid="stElementToolbarButton"]:has(button[aria-label="Download as CSV"]),
body:has([data-testid="stElementToolbar"] button:hover) [data-baseweb="tooltip"],
[data-testid="InputInstructions"], [data-testid="stStatusWidget"],
[data-testid="stMainMenu"], [data-testid="stToolbarActions"], .modebar-btn[data-title="Fullscreen"]
{ display: none !important; }
[data-testid="stDialog"]:not(:has([data-testid="stVerticalBlock"])) { display: none !important; }
"""


# Hiding Streamlit's message box is not enough: it makes the rest of the page inert while open. In Chinese it
# is closed as soon as it appears (Streamlit then shows the main page, as the box would have said).
CLOSE_MESSAGE_BOXES = """<script>
(() => {
  if (window.__junhengBoxes) return;
  window.__junhengBoxes = true;
  const close = () => document.querySelectorAll('[data-testid="stDialog"]').forEach(box => {
    if (!box.querySelector('[data-testid="stVerticalBlock"]')) box.querySelector('button[aria-label="Close"]')?.click();
  });
  new MutationObserver(close).observe(document.body, {childList: true, subtree: true});
  close();
})();
</script>"""


# A presentation step is one screen. The step's blocks (the page's top-level elements) are packed in order into
# screens as tall as the window below the presenter's bar; only the current screen is shown, and 下一页 / 上一页
# go through a page's screens before they go to the next or the previous page (the bar shows "screen k / n"). A
# block taller than the window that is a layout (a container, columns) is opened: its parts are packed on their own
# (so 小学 and 初中 side by side become a screen each, or more). A heading is never left alone at the bottom of a
# screen: it goes with what follows. A single element still taller than the window is zoomed out, never below
# FIT_MIN (readable). What the window really shows is checked after each screen is drawn: a screen that still
# scrolls gives its last part to a screen of its own. A new page, a chart drawn late or a resized window packs the
# screens anew.
FIT_MIN = 0.7
FIT_SCREEN = """<script>
(() => {
  window.__junhengFitOn = true;
  if (window.__junhengFit) { window.__junhengFit(); return; }
  const HIDE = 'junheng-offscreen', PARK = 'junheng-parked';  // a map off screen keeps its size (it draws)
  const widths = new WeakMap();
  const off = (el, away) => {
    const park = away && !!el.querySelector('iframe');
    el.classList.toggle(HIDE, away && !park);
    el.classList.toggle(PARK, park);
    el.style.width = park ? `${widths.get(el) || 1000}px` : '';
  };
  const state = {key: '', screen: 0, screens: [], opened: [], slack: 0};
  const column = () => document.querySelector(
    '[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"]');
  const blocks = () => column() ? Array.from(column().children) : [];
  const gap = () => (column() && parseFloat(getComputedStyle(column()).rowGap)) || 16;
  const roomBelow = bar => window.innerHeight - (bar ? bar.getBoundingClientRect().bottom : 0) - gap() - 14;
  const isBar = el => el.matches('.st-key-present_bar') || el.querySelector('.st-key-present_bar');
  const height = el => el.getBoundingClientRect().height;
  const LAYOUT = '[data-testid="stVerticalBlock"], [data-testid="stHorizontalBlock"], [data-testid="stColumn"], ' +
    '[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stLayoutWrapper"]';
  // the parts of a layout block (a container's elements, columns' elements), [] for a single element
  const parts = el => {
    const flat = '[data-testid="stVerticalBlock"], [data-testid="stHorizontalBlock"]';
    if (el.matches(flat)) return Array.from(el.children);
    const inner = Array.from(el.children).filter(k => k.matches(LAYOUT));
    return inner.length === 1 ? parts(inner[0]) : [];
  };
  const units = (el, room) => {
    widths.set(el, el.getBoundingClientRect().width);
    const inner = height(el) > room ? parts(el) : [];
    if (!inner.length) return [el];
    state.opened.push(el);
    return inner.flatMap(k => units(k, room));
  };
  // a heading, or a line that opens in bold (the pages' titles of a chart, a map or a table)
  const isHeading = el => {
    const big = '.stPlotlyChart, [data-testid="stDataFrame"], iframe, table';
    if (height(el) < 1 || height(el) >= 90 || el.querySelector(big)) return false;
    const line = el.querySelector('[data-testid="stMarkdownContainer"] > p:only-child');
    return !!el.querySelector('h1, h2, h3, h4, h5, [data-testid="stHeading"]') ||
      !!(line && line.firstElementChild && line.firstElementChild.tagName === 'STRONG' &&
         line.textContent.trim().startsWith(line.firstElementChild.textContent.trim()) && line.textContent.length < 80);
  };
  const mainBox = () => document.querySelector('[data-testid="stMain"]');
  const show = (repack = true) => {
    const current = new Set(state.screens[state.screen] || []);
    const all = state.screens.flat();
    for (const el of all.concat(state.opened)) { off(el, false); el.style.zoom = ''; }
    if (state.screens.length) {
      for (const el of all) if (!current.has(el)) off(el, true);
      for (const el of state.opened) if (!Array.from(current).some(u => el.contains(u))) off(el, true);
    }
    const bar = document.querySelector('.st-key-present_bar');
    const room = roomBelow(bar);
    for (const el of current) {
      const tall = height(el);
      if (tall > room) el.style.zoom = Math.max(FIT_MIN, room / tall * 0.97).toFixed(3);
    }
    // what the window shows: a screen that still scrolls (a part drawn taller than measured) makes this page's
    // screens shorter by the overflow, packed anew
    const sized = (state.screens[state.screen] || []).filter(el => height(el) >= 1);
    const main = mainBox();
    const over = main ? main.scrollHeight - main.clientHeight : 0;
    if (repack && sized.length > 1 && over > 1 && state.slack < 400) {
      state.slack += over + 8;
      return pack(false);
    }
    let mark = document.getElementById('junheng-screen');
    if (bar && !mark) {
      mark = document.createElement('span');
      mark.id = 'junheng-screen';
      mark.style.cssText = 'font-size:1.1rem;color:#555f6d;margin-left:.5rem';
      bar.querySelector('[data-testid="stMarkdownContainer"] p')?.appendChild(mark);
    }
    const text = state.screens.length > 1 ? ` (${state.screen + 1}/${state.screens.length})` : '';
    if (mark && mark.textContent !== text) mark.textContent = text;
    for (const key of ['present_next', 'present_previous']) {
      const button = document.querySelector(`.st-key-${key} button`);
      const more = key === 'present_next' ? state.screen < state.screens.length - 1 : state.screen > 0;
      if (button && more) button.removeAttribute('disabled');
    }
  };
  const pack = (repack = true) => {
    const reset = () => {
      for (const el of state.screens.flat().concat(state.opened)) { off(el, false); el.style.zoom = ''; }
      blocks().forEach(el => { off(el, false); el.style.zoom = ''; });
    };
    reset();
    if (!window.__junhengFitOn) { state.screens = []; state.opened = []; return; }
    const key = location.pathname + location.search;
    if (key !== state.key) { state.key = key; state.screen = 0; state.slack = 0; }
    const bar = document.querySelector('.st-key-present_bar');
    const room = roomBelow(bar) - state.slack, space = gap();
    state.opened = [];
    const all = blocks().filter(el => !isBar(el)).flatMap(el => units(el, room));
    const screens = [];
    let screen = [], used = 0;
    for (const el of all) {
      const tall = height(el);
      if (tall < 1) { screen.push(el); continue; }  // style sheets, scripts: kept with their neighbours
      if (screen.some(e => height(e) >= 1) && used + space + tall > room) {
        // a heading at the bottom goes with what follows
        let cut = screen.length;
        while (cut > 0 && isHeading(screen[cut - 1])) cut -= 1;
        const carry = screen.slice(cut).reduce((sum, e) => sum + (height(e) >= 1 ? height(e) + space : 0), 0);
        if (cut === 0 || carry + tall > room) cut = screen.length;  // the heading fits with it, or stays
        const carried = screen.slice(cut);
        screens.push(screen.slice(0, cut));
        screen = carried;
        used = carried.length ? carry : 0;
      }
      screen.push(el);
      used += (used ? space : 0) + tall;
    }
    if (screen.length) screens.push(screen);
    state.screens = screens;
    state.screen = Math.min(state.screen, Math.max(screens.length - 1, 0));
    show(repack);
  };
  window.__junhengFit = pack;
  document.addEventListener('click', event => {
    if (!window.__junhengFitOn) return;
    const next = event.target.closest('.st-key-present_next button');
    const previous = event.target.closest('.st-key-present_previous button');
    if (next && state.screen < state.screens.length - 1) state.screen += 1;
    else if (previous && state.screen > 0) state.screen -= 1;
    else return;
    event.preventDefault(); event.stopImmediatePropagation();
    show();
  }, true);
  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(pack, 150); };
  new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
  window.addEventListener('resize', later);
  // a map's frame or a chart that grows after it was packed (no new elements): packed again
  setInterval(() => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (window.__junhengFitOn && main && main.scrollHeight > main.clientHeight + 1) pack();
  }, 700);
  later();
})();
</script>""".replace("FIT_MIN", str(FIT_MIN))
FIT_OFF = "<script>window.__junhengFitOn = false; window.__junhengFit && window.__junhengFit();</script>"


def style(lang: str, presenting: bool) -> None:
    """The frame's style sheets: print always, presentation mode when on (each step fitted to one screen), the
    Chinese screen in Chinese."""
    controls = ", .stMain ".join(CONTROLS)
    css = PRESENT_CSS % {"controls": controls} if presenting else ""
    css += PRINT_CSS % {"controls": controls}  # after presentation mode's rules: printing wins
    script = FIT_SCREEN if presenting else FIT_OFF
    if lang == "zh":
        css += CHINESE_CSS + builtin_texts.frame_css(lang)
        st.html(f"<style>{css}</style>{CLOSE_MESSAGE_BOXES}{builtin_texts.frame_script(lang)}{script}",
                unsafe_allow_javascript=True)
    else:
        st.html(f"<style>{css}</style>{script}", unsafe_allow_javascript=True)


# Plotly's toolbar texts (its own English, the keys of its locale dictionary) and their i18n keys.
PLOTLY_TEXTS = ("plotly_download_png", "plotly_download", "plotly_zoom", "plotly_pan", "plotly_zoom_in",
                "plotly_zoom_out", "plotly_autoscale", "plotly_reset_axes", "plotly_reset_view",
                "plotly_box_select", "plotly_lasso_select", "plotly_spikes", "plotly_closest", "plotly_compare",
                "plotly_toggle_closest", "plotly_double_click", "plotly_snapshot", "plotly_snapshot_ok",
                "plotly_snapshot_error", "plotly_produced")


def chart_config(lang: str, name: str) -> dict:
    """Plotly's config: a PNG download (twice the screen's resolution) named for the chart, no Plotly logo, no
    "Share chart" (plotly.js 4 offers it by default: an upload to Plotly's cloud), and in Chinese the toolbar's
    tooltips in Chinese (Plotly's locale with its dictionary passed along)."""
    config = {"displaylogo": False, "showSendToCloud": False, "plotlyServerURL": "",
              "modeBarButtonsToRemove": ["select2d", "lasso2d", "toggleSpikelines", "hoverClosestCartesian",
                                         "hoverCompareCartesian"],
              "toImageButtonOptions": {"format": "png", "scale": 2, "filename": name}}
    if lang == "zh":
        config["locale"] = "zh-CN"
        config["locales"] = {"zh-CN": {"dictionary": {t(k, "en"): t(k, "zh") for k in PLOTLY_TEXTS}}}
    return config


# Charts are drawn by plotly.js's basic bundle (scatter, bar, pie: all the figures use; 1.2 MB, about 400 KB
# gzipped), vendored at install time into static/vendor/plotly (Makefile `vendor`), not by Streamlit's PlotlyChart
# chunk (the whole plotly.js, 4.7 MB, about 1.06 MB Brotli). Each chart is an st.html element: a box holding the
# figure and config as JSON data and the element Plotly draws in, and a small script. The script loads the bundle
# once per browser page (a global promise that later charts and reruns reuse) and draws every box not drawn yet;
# a box follows its container's width (a ResizeObserver: window, phone layout, the presentation mode's zoom and
# packing). Streamlit re-renders an st.html element only when its HTML changes: a rerun with the same figure draws
# nothing anew (no flicker), a changed figure or another language (the key and the config carry it) draws anew.
# The box keeps Streamlit's class and test id (stPlotlyChart) on purpose: the timer (/work/shared/tools/pagetime),
# junheng/tools/browser.py's wait_for_page, the presentation mode's packing (FIT_SCREEN, PRINT_CSS: .stPlotlyChart)
# and the browser tests wait for and measure `[data-testid="stPlotlyChart"] .main-svg` as they did.
PLOTLY_JS = "app/static/vendor/plotly/plotly-basic.min.js"  # relative to the app's root (a base path kept)
DEFAULT_HEIGHT = 450  # Plotly's own, for a figure without a height
CHART_SCRIPT = """<script>
(() => {
  const charts = window.__junhengCharts || (window.__junhengCharts = (() => {
    let loading = null;
    // the app's root as the browser sees it (behind a proxy's base path too): where Streamlit's own bundle is
    const root = () => {
      const own = document.querySelector('script[src*="/static/js/index."]');
      return own ? own.src.replace(/static\\/js\\/index\\.[^/]*$/, '') : '/';
    };
    const load = () => loading || (loading = new Promise((resolve, reject) => {
      if (window.Plotly) { resolve(window.Plotly); return; }
      const tag = document.createElement('script');
      tag.src = root() + 'PLOTLY_JS';
      tag.onload = () => resolve(window.Plotly);
      tag.onerror = error => { loading = null; tag.remove(); reject(error); };  // tried again by the next chart
      document.head.appendChild(tag);
    }));
    const sized = new ResizeObserver(entries => {
      for (const entry of entries) {
        const plot = entry.target.querySelector('.js-plotly-plot');
        if (plot && window.Plotly && entry.contentRect.width > 0 && plot._fullLayout
            && Math.abs(plot._fullLayout.width - entry.contentRect.width) > 0.5) window.Plotly.Plots.resize(plot);
      }
    });
    // Streamlit's plotly theme, as st.plotly_chart applied it to the figure's template (the figure's own layout
    // wins): the page's fonts and colours, a bold title at the left, no vertical grid, a white background.
    const merge = (into, from) => {
      for (const [key, value] of Object.entries(from)) {
        into[key] = value && typeof value === 'object' && !Array.isArray(value)
          ? merge(into[key] && typeof into[key] === 'object' ? into[key] : {}, value) : value;
      }
      return into;
    };
    const theme = box => {
      const page = getComputedStyle(box), body = page.fontFamily, ink = page.color;
      const faded = '#808495', line = '#e6eaf1', white = '#FFFFFF';
      return {
        font: {color: faded, size: 12}, paper_bgcolor: white, plot_bgcolor: white,
        title: {font: {family: body, size: 16, color: ink}, x: 0, xanchor: 'left', pad: {l: 4}},
        legend: {font: {size: 12, color: ink}, valign: 'top', borderwidth: 0},
        xaxis: {showgrid: false, zeroline: false, automargin: true, gridcolor: line, zerolinecolor: line,
                tickfont: {size: 12, color: faded}, title: {font: {size: 14, color: faded}, standoff: 20}},
        yaxis: {automargin: true, gridcolor: line, zerolinecolor: line, ticklabelposition: 'outside',
                tickfont: {size: 12, color: faded}, title: {font: {size: 14, color: faded}, standoff: 24}},
        margin: {l: 0, r: 0, pad: 8},
        hoverlabel: {bgcolor: white, bordercolor: '#DCD8D4', font: {family: body, size: 12, color: faded}},
      };
    };
    const draw = (Plotly, box) => {
      const source = box.querySelector('script.jh-chart-data');
      const plot = box.querySelector('.jh-plot');
      if (!source || !plot || box.__junhengDrawn === source.textContent) return;
      box.__junhengDrawn = source.textContent;
      const {figure, config} = JSON.parse(source.textContent);
      const layout = Object.assign({}, figure.layout || {}, {autosize: true});
      delete layout.width;  // the container's width
      layout.template = Object.assign({}, layout.template || {});
      layout.template.layout = merge(merge({}, layout.template.layout || {}), theme(box));
      const title = typeof layout.title === 'string' ? {text: layout.title} : layout.title;
      // (no '<' before a letter in this script: Streamlit's sanitizer drops a script whose text looks like markup)
      if (title && title.text) layout.title = Object.assign({}, title, {text: '\\x3cb>' + title.text + '\\x3c/b>'});
      Plotly.react(plot, figure.data || [], layout, config);
      sized.observe(box);
    };
    return () => load().then(Plotly => document.querySelectorAll('.jh-chart').forEach(box => draw(Plotly, box)));
  })());
  charts();
})();
</script>""".replace("PLOTLY_JS", PLOTLY_JS)


def chart_html(fig, key: str, config: dict) -> str:
    """The chart's element: the box (Streamlit's class and test id, the figure's height), its figure and config as
    JSON data (escaped for the page by escape.json_in_html: names from data files stay data), and the script."""
    height = (fig.layout.height if hasattr(fig, "layout") else (fig.get("layout") or {}).get("height")) \
        or DEFAULT_HEIGHT
    # the figure's own JSON encoder (numpy arrays, dates), as st.plotly_chart used
    data = '{"figure":' + pio.to_json(fig, validate=False) + ',"config":' + json.dumps(config, ensure_ascii=False) + "}"
    return (f'<div class="stPlotlyChart jh-chart" data-testid="stPlotlyChart" data-key="{escape.html(key)}" '
            f'style="width:100%;height:{int(height)}px">'
            f'<script type="application/json" class="jh-chart-data">{escape.json_in_html(data)}</script>'
            f'<div class="jh-plot" style="width:100%;height:100%"></div></div>{CHART_SCRIPT}')


_CHART_DATA = re.compile(r'<script type="application/json" class="jh-chart-data">(.*?)</script>', re.S)


def chart_data(body: str) -> dict | None:
    """The figure and config ({"figure", "config"}) an st.html element's body carries when it is a chart, else
    None: how tests read the charts a run drew."""
    found = _CHART_DATA.search(body or "")
    return json.loads(found.group(1)) if found else None


def chart(fig, key: str, lang: str, where=None) -> None:
    """Show a Plotly chart with its PNG download, drawn by the vendored basic bundle (see CHART_SCRIPT). The key
    carries the language: a language switch draws the chart anew, with the toolbar in that language."""
    (where or st).html(chart_html(fig, f"{key}_{lang}", chart_config(lang, key)), unsafe_allow_javascript=True)
