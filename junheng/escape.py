"""Text from files, links and users is data wherever it lands: one escaper per context, used everywhere.

Contexts: HTML (element text and attribute values), HTML inside a JavaScript template string (Folium
tooltips and popups), Plotly's text (hover, tick and title labels accept a little HTML), Streamlit
markdown, a CSV cell (formula injection), a file name, a URL a user may set (tile servers), and JSON text
placed in an HTML page (a chart's figure in a `<script type="application/json">`).
"""
from __future__ import annotations

import html as _html
import re

# Directional overrides and isolates can make a name display as something else (and reorder a file name's
# extension); they carry no meaning in a school or place name.
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))
# What plain() removes, as one regular expression that Python and Polars (Rust) both read: the bidirectional
# controls above and every control character (Unicode Cc) but tab and newline. Files and command-line output use
# it on whole columns (junheng/reports/exports.py); tests/test_escape.py checks it against that definition code
# point by code point.
UNSAFE_CHARACTERS = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_UNSAFE = re.compile(UNSAFE_CHARACTERS)
# A spreadsheet starts a formula (or DDE) at these; OWASP: prefix such a cell with a single quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
_FILENAME_BAD = re.compile(r"[^\w\u3400-\u9fff.\-]+")
MAX_TEXT = 500  # characters of one name shown in a map tooltip or chart label; the rest is cut with …


def plain(value, limit: int | None = None) -> str:
    """The text with bidirectional controls and other control characters removed, optionally shortened."""
    text = _UNSAFE.sub("", "" if value is None else str(value))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def html(value, limit: int | None = MAX_TEXT) -> str:
    """For HTML element text or a quoted attribute value."""
    return _html.escape(plain(value, limit), quote=True)


def js_template_html(value, limit: int | None = MAX_TEXT) -> str:
    """HTML text placed inside a JavaScript template string (`...`), as Folium writes tooltips.

    HTML-escaping removes < > & " '; the template string also needs \\, ` and ${ neutralised.
    """
    return html(value, limit).replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def plotly(value, limit: int | None = MAX_TEXT) -> str:
    """For Plotly text (hover, ticks, titles): its pseudo-HTML tags and entities become literal text."""
    return _html.escape(plain(value, limit), quote=False)


# In JSON these stand only inside strings, where \uXXXX means the same character: as escapes nothing in the text
# can end the <script> element (</script>, <!--), start an entity or a tag, or end a JavaScript line (U+2028/9).
_JSON_IN_HTML = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028",
                 0x2029: "\\u2029"}


def json_in_html(json_text: str) -> str:
    """JSON text (json.dumps, plotly.io.to_json) for a `<script type="application/json">` element (or an HTML
    attribute): the same JSON value once parsed, with no <, >, & or line separator left in it."""
    return json_text.translate(_JSON_IN_HTML)


def markdown(value, limit: int | None = None) -> str:
    """For Streamlit markdown (st.markdown, st.error, widget labels): no formatting, links or HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", plain(value, limit).replace("\n", " "))


def filename(value, default: str = "junheng", limit: int = 80) -> str:
    """A file name made only of letters (Chinese included), digits, '.', '-' and '_', never hidden or a path."""
    text = _FILENAME_BAD.sub("_", plain(value)).strip("._") or default
    return text[:limit]
