"""Subsets of Streamlit's two web fonts from the same URLs (issue 25; junheng/tools/fonts.py): only the kept icons'
ligatures in the icon font, the Latin and punctuation the pages show in the text font, made once in the
background, the originals served until then or when making them fails."""
import asyncio
import re
import shutil
import time
import urllib.request

import pytest

from junheng.tools import compression, fonts
from junheng.tools.browser import ROOT

MEDIA = fonts.media_dir()
ICON_FILE = next(p for p in MEDIA.iterdir() if p.name.startswith(fonts.ICON_FONT))
TEXT_FILE = next(p for p in MEDIA.iterdir() if p.name.startswith(fonts.TEXT_FONT))


@pytest.fixture(scope="module")
def icons():
    data = ICON_FILE.read_bytes()
    return data, fonts.make("icons", data)


@pytest.fixture(scope="module")
def text():
    data = TEXT_FILE.read_bytes()
    return data, fonts.make("text", data)


def _outline(font, glyph: str):
    """What a glyph draws: its points, contour ends and flags (resolved components), and its advance."""
    table = font["glyf"]
    coordinates, ends, flags = table[glyph].getCoordinates(table)
    return list(coordinates), list(ends), list(flags), font["hmtx"][glyph][0]


# --- the icon font -------------------------------------------------------------------------------------------

def test_the_icon_subset_is_a_small_fraction_of_the_whole_font(icons):
    whole, subset = icons
    assert len(whole) > 300_000
    assert len(subset) < len(whole) / 10


def test_every_kept_icon_still_draws_its_own_glyph_through_the_ligature_table(icons):
    whole, subset = icons
    original, small = fonts._open(whole), fonts._open(subset)
    before, after = fonts.ligatures(original), fonts.ligatures(small)
    kept = [name for name in fonts.ICONS if name in before]
    assert len(kept) >= len(fonts.ICONS) - 5  # names only a newer font has (star_filled) are few
    for name in kept:
        assert name in after, name
        assert _outline(small, after[name]) == _outline(original, before[name]), name


def test_icons_not_kept_have_no_ligature_left_though_their_letters_are_kept(icons):
    whole, subset = icons
    before, after = fonts.ligatures(fonts._open(whole)), fonts.ligatures(fonts._open(subset))
    assert len(before) > 4000
    # every name left draws one of the kept icons' glyphs (aliases such as warning_amber → warning), no other
    kept_glyphs = {before[name] for name in fonts.ICONS if name in before}
    small_glyphs = {before[name] for name in after}
    assert small_glyphs <= kept_glyphs
    assert len(after) < 2 * len(fonts.ICONS)
    for name in ("rocket", "pets", "android", "home_repair_service", "bug_report"):
        assert name in before and name not in fonts.ICONS and name not in after, name
    assert {chr(c) for c in fonts._open(subset).getBestCmap() if c < 0x80} >= set("abcxyz_0123456789")


def test_a_one_icon_subset_keeps_that_icon_and_its_aliases_only():
    data = ICON_FILE.read_bytes()
    before = fonts.ligatures(fonts._open(data))
    small = fonts._open(fonts.subset_icons(data, ["school"]))
    after = fonts.ligatures(small)
    assert "school" in after
    assert {before[name] for name in after} == {before["school"]}
    assert "schedule" not in after and "search" not in after
    # the glyphs: .notdef, the letters, the icon; nothing reached through another icon's ligature
    assert len(small.getGlyphOrder()) < 60


def test_the_icon_font_stays_static_weight_400_as_streamlit_declares_it(icons):
    css = next((MEDIA.parent.parent / "static" / "css").glob("index.*.css")).read_text(encoding="utf-8")
    face = re.search(r"@font-face\{font-family:Material Symbols Rounded;[^}]*\}", css).group(0)
    assert "font-weight:400" in face and ICON_FILE.name in face
    assert "fvar" not in fonts._open(icons[0]) and "fvar" not in fonts._open(icons[1])


# --- the text font -------------------------------------------------------------------------------------------

def _app_symbols() -> set[str]:
    """The non-Chinese characters of the app's code (strings, formats; comments too, to be safe) and its pages."""
    files = [*(ROOT / "junheng").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
    source = "".join(path.read_text(encoding="utf-8") for path in files)
    return {ch for ch in source if ord(ch) >= 0x20 and not 0x2E80 <= ord(ch) <= 0x9FFF and not 0xFF00 <= ord(ch)}


def test_the_text_subset_covers_latin_punctuation_and_every_symbol_of_the_app(text):
    whole, subset = text
    original, small = fonts._open(whole).getBestCmap(), fonts._open(subset).getBestCmap()
    wanted = {chr(c) for c in range(0x20, 0x7F)} | {chr(c) for c in range(0xA0, 0x100)}
    wanted |= set("–—‘’“”…•‰€¥£≈≥≤−×·÷°²³→←↑↓✓✗ā á ǎ à ē é ě è ī í ǐ ì ō ó ǒ ò ū ú ǔ ù ǖ ǘ ǚ ǜ ü".replace(" ", ""))
    wanted |= _app_symbols()
    missing_in_font = {ch for ch in wanted if ord(ch) not in original}
    assert not {"≈", "≥", "≤", "−", "×", "·", "…", "→", "€", "¥", "‰"} & missing_in_font
    assert {ch for ch in wanted - missing_in_font if ord(ch) not in small} == set()
    # and not everything: no Cyrillic, no Vietnamese
    assert ord("Ж") in original and ord("Ж") not in small
    assert ord("ệ") in original and ord("ệ") not in small


def test_the_text_subset_keeps_the_weight_axis_and_is_much_smaller(text):
    whole, subset = text
    axes = lambda data: [(a.axisTag, a.minValue, a.defaultValue, a.maxValue) for a in fonts._open(data)["fvar"].axes]  # noqa: E731
    assert axes(subset) == axes(whole) == [("wght", 200.0, 200.0, 900.0)]
    assert "gvar" in fonts._open(subset)
    assert len(subset) < 0.4 * len(whole)


# --- made once, in the background, the original until then ---------------------------------------------------

def _media(tmp_path, corrupt: bytes | None = None):
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(ICON_FILE, media / ICON_FILE.name)
    shutil.copy(TEXT_FILE, media / TEXT_FILE.name)
    other = next(p for p in MEDIA.iterdir() if p.name.startswith("KaTeX_Main-Regular"))
    shutil.copy(other, media / other.name)  # a font the subsets leave alone
    if corrupt is not None:
        (media / TEXT_FILE.name).write_bytes(corrupt)
    return media


def _file_app(media):
    """Streamlit's static files in small: the file under /static/media/, with an ETag, in chunks."""
    async def app(scope, receive, send):
        name = scope["path"].rpartition("/")[2]
        body = (media / name).read_bytes()
        tag = b'"whole-' + name[:8].encode() + b'"'
        if dict(scope["headers"]).get(b"if-none-match") == tag:
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", tag)]})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-type", b"font/woff2"), (b"content-length", str(len(body)).encode()), (b"etag", tag),
                   (b"cache-control", b"public, immutable, max-age=31536000"), (b"accept-ranges", b"bytes")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        half = len(body) // 2
        await send({"type": "http.response.body", "body": body[:half], "more_body": True})
        await send({"type": "http.response.body", "body": body[half:], "more_body": False})
    return app


def _get(middleware, name, extra=()):
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": f"/static/media/{name}",
             "headers": [(b"accept-encoding", b"gzip, br"), *extra]}
    asyncio.run(middleware(scope, receive, send))
    headers = dict(sent[0]["headers"])
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def test_the_original_until_the_subset_is_made_then_the_subset_from_the_same_url(tmp_path):
    media = _media(tmp_path)
    store = fonts.SubsetFonts(tmp_path / "compressed", media)
    middleware = compression.GzipAssets(_file_app(media), fonts=store)
    whole = ICON_FILE.read_bytes()
    status, headers, body = _get(middleware, ICON_FILE.name)
    assert status == 200 and body == whole and headers[b"etag"] == b'"whole-Material"'
    store.prepare()
    status, headers, body = _get(middleware, ICON_FILE.name)
    assert status == 200 and body == fonts.make("icons", whole)
    assert int(headers[b"content-length"]) == len(body) < len(whole) / 10
    assert headers[b"content-type"] == b"font/woff2" and b"content-encoding" not in headers
    assert headers[b"cache-control"] == fonts.CACHE_CONTROL and b"accept-ranges" not in headers
    subset_tag = headers[b"etag"]
    assert subset_tag.startswith(b'"whole-Material-') and subset_tag != b'"whole-Material"'
    # a browser holding the subset revalidates: 304; one holding the whole font gets the subset
    status, headers, body = _get(middleware, ICON_FILE.name, [(b"if-none-match", subset_tag)])
    assert (status, body, headers[b"etag"]) == (304, b"", subset_tag)
    status, _, body = _get(middleware, ICON_FILE.name, [(b"if-none-match", b'"whole-Material"')])
    assert status == 200 and len(body) < len(whole) / 10
    # the text font too; the other fonts are served as they are
    assert len(_get(middleware, TEXT_FILE.name)[2]) < 0.4 * TEXT_FILE.stat().st_size
    katex = next(p for p in media.iterdir() if p.name.startswith("KaTeX"))
    assert _get(middleware, katex.name)[2] == katex.read_bytes()
    # stored under the font's key, whole: no temporary file left
    names = sorted(p.name for p in (tmp_path / "compressed").iterdir())
    assert names == sorted([f"{fonts.key('icons', whole)}.icons.woff2",
                            f"{fonts.key('text', TEXT_FILE.read_bytes())}.text.woff2"])
    # a range request is for the original's bytes: it gets them
    assert _get(middleware, ICON_FILE.name, [(b"range", b"bytes=0-99")])[2] == whole


def test_a_second_start_reads_the_stored_subsets_without_making_them_again(tmp_path, monkeypatch):
    media = _media(tmp_path)
    fonts.SubsetFonts(tmp_path / "compressed", media).prepare()
    again = fonts.SubsetFonts(tmp_path / "compressed", media)
    monkeypatch.setattr(again, "_spawn", lambda *a: pytest.fail("made again"))
    again.prepare()
    assert set(again.made()) == {ICON_FILE.name, TEXT_FILE.name}


def test_the_key_changes_with_the_font_and_the_kept_list(monkeypatch):
    data = ICON_FILE.read_bytes()
    first = fonts.key("icons", data)
    assert fonts.key("icons", data) == first
    assert fonts.key("icons", data + b"\0") != first
    assert fonts.key("text", data) != first
    monkeypatch.setattr(fonts, "ICONS", (*fonts.ICONS, "rocket"))
    assert fonts.key("icons", data) != first


@pytest.mark.parametrize("corrupt", [b"", b"wOF2" + b"\0" * 200, TEXT_FILE.read_bytes()[:5000]])
def test_a_corrupt_font_is_logged_and_served_whole(tmp_path, corrupt, caplog):
    media = _media(tmp_path, corrupt=corrupt)
    store = fonts.SubsetFonts(tmp_path / "compressed", media)
    middleware = compression.GzipAssets(_file_app(media), fonts=store)
    with caplog.at_level("WARNING", logger="junheng"):
        store.prepare()
    assert set(store.made()) == {ICON_FILE.name}
    assert f"the subset of {TEXT_FILE.name} could not be made" in caplog.text
    assert _get(middleware, TEXT_FILE.name)[2] == corrupt
    assert not [p for p in (tmp_path / "compressed").iterdir() if "text" in p.name or p.name.startswith(".")]


def test_a_subset_that_is_not_smaller_is_not_served(tmp_path, monkeypatch):
    """fontTools keeping everything (a layout closure over every ligature) would not be a subset."""
    media = _media(tmp_path)
    store = fonts.SubsetFonts(tmp_path / "compressed", media)
    monkeypatch.setattr(store, "_spawn", lambda kind, source, target: target.write_bytes(source.read_bytes()))
    store.prepare()
    assert store.made() == {}


def test_without_a_folder_nothing_is_made_and_the_originals_are_served(tmp_path):
    media = _media(tmp_path)
    store = fonts.SubsetFonts(None, media)
    assert store.start() is None
    assert _get(compression.GzipAssets(_file_app(media), fonts=store), ICON_FILE.name)[2] == ICON_FILE.read_bytes()


# --- in the browser, through the launcher --------------------------------------------------------------------

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1440, "height": 900}

_ICON_TEXTS = r"""() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.children.length) continue;
    if ((getComputedStyle(el).fontFamily || '').includes('Material Symbols')) {
      const text = el.textContent.trim();
      if (text) out.push(text);
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def server(demo_data):
    from junheng.tools.browser import streamlit_server
    from tests.conftest import add_account
    add_account(demo_data, "chief", "admin")
    with streamlit_server(demo_data) as url:
        deadline = time.monotonic() + 180  # the subsets are made in the background after the start
        while True:
            with urllib.request.urlopen(f"{url}/static/media/{TEXT_FILE.name}") as reply:
                text_size = len(reply.read())
            with urllib.request.urlopen(f"{url}/static/media/{ICON_FILE.name}") as reply:
                icon_size = len(reply.read())
            if text_size < TEXT_FILE.stat().st_size and icon_size < ICON_FILE.stat().st_size:
                break
            assert time.monotonic() < deadline, "the font subsets were not made in 3 minutes"
            time.sleep(1)
        yield url


@pytest.mark.browser
def test_every_icon_drawn_on_every_page_is_kept_and_the_fonts_come_from_the_subsets(browser, server):
    from junheng.tools.browser import frame_pages, login, wait_for_page
    from tests.conftest import PASSWORD
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    page = context.new_page()
    sizes = {}
    page.on("response", lambda r: sizes.setdefault(r.url.rpartition("/")[2], int(r.headers["content-length"]))
            if "/static/media/" in r.url and r.status == 200 else None)
    login(page, server, "chief", PASSWORD)
    drawn = {}
    for size in (LAPTOP, PHONE):
        page.set_viewport_size(size)
        for stem, path in frame_pages().items():
            page.goto(f"{server}/{path}?county=370724")
            wait_for_page(page, timeout_ms=120_000)
            opener = page.locator('[data-testid="stExpandSidebarButton"], '
                                  '[data-testid="stSidebarCollapsedControl"] button')
            if opener.count() and opener.first.is_visible():  # a phone's sidebar starts closed: open it
                opener.first.click()
                page.wait_for_timeout(500)
            for name in page.evaluate(_ICON_TEXTS):
                drawn.setdefault(name, set()).add(f"{stem} at {size['width']}")
    context.close()
    assert not {name: where for name, where in drawn.items() if name not in fonts.ICONS}
    # the sidebar's page icons, its collapse arrows, the expanders' chevrons, the warning: all seen, all kept
    assert {"map", "balance", "school", "database", "warning", "keyboard_double_arrow_left"} <= set(drawn)
    assert sizes[ICON_FILE.name] < ICON_FILE.stat().st_size / 10
    assert sizes[TEXT_FILE.name] < 0.4 * TEXT_FILE.stat().st_size
