"""The file uploader in Chinese: Streamlit 1.67 draws its own "Upload", "100MB per file • XLSX, CSV" and
"Drag and drop a file here" in English and offers no parameter for them, so a style sheet hides those words
and shows the translation table's in their place (CSS generated content; the widget itself is untouched)."""
from __future__ import annotations

import streamlit as st

from junheng.i18n import t

_ZONE = '[data-testid="stFileUploaderDropzone"]'
# The button's label, the size-and-types line, and the overlay drawn only while a file is dragged over the zone.
_BUTTON = f'{_ZONE} button [data-testid="stMarkdownContainer"] p'
_LIMIT = '[data-testid="stFileUploaderDropzoneInstructions"] span'
_DROP = f"{_ZONE} > div:not([data-testid]) > div"


def _css_text(text: str) -> str:
    """A CSS string literal; the texts are the translation table's, escaped all the same."""
    return '"' + "".join(c if c.isalnum() or c in " ·•、，.()（）" else f"\\{ord(c):x} " for c in text) + '"'


def uploader_css(lang: str, types: list[str], max_mb: int) -> str:
    """The style sheet that shows the uploader's own texts in lang ('' in English: Streamlit's are English)."""
    if lang == "en":
        return ""
    limit = t("uploader_limit", lang, mb=max_mb, types="、".join(x.upper() for x in types))
    rules = []
    for selector, text in ((_BUTTON, t("uploader_button", lang)), (_LIMIT, limit), (_DROP, t("uploader_drop", lang))):
        rules.append(f"{selector}{{font-size:0}}"
                     f"{selector}::after{{content:{_css_text(text)};font-size:.875rem}}")
    return "".join(rules)


def chinese_uploader(lang: str, types: list[str]) -> None:
    """Show the next file uploader's built-in texts in lang (call once on the page, beside the uploader)."""
    css = uploader_css(lang, types, int(st.get_option("server.maxUploadSize")))
    if css:
        st.html(f"<style>{css}</style>")
