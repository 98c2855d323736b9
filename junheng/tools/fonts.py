"""Subsets of Streamlit's two web fonts, served from the same URLs (issue 25).

Every first page load fetched Streamlit's whole icon font, MaterialSymbols-Rounded (375 KB, about 4,300 icons for
the few dozen Streamlit and this app draw) and its text font SourceSansVF-Upright (170 KB: Latin, Greek, Cyrillic,
Vietnamese…, while this app's text is Chinese, drawn by the system's CJK font). The launcher's middleware
(compression.GzipAssets) serves instead:

- the icon font with only the ligatures of ICONS (and the glyphs they draw): the font draws an icon from its
  name's letters through the GSUB ligature table (`keyboard_arrow_down` → one glyph), so the subset keeps the
  letters, the kept icons' glyphs and their ligatures, and nothing else (no layout closure: a ligature whose icon
  is not kept is pruned). A name not kept is drawn as its letters — visible, so ICONS is generous: every
  `:material/…:` name in Streamlit 1.67's frontend bundles and Python package, the app's own, and what a crawl of
  every page rendered (tests/test_fonts.py checks every page against it). The font is static (weight 400, no
  variation axes).
- the text font with the Latin, punctuation and symbol characters the pages can show (TEXT_RANGES), its weight
  axis kept whole. Chinese falls back to the system's CJK font exactly as before.

Each subset is made once per font file, keyed by the file's digest, fontTools' version and the kept list, in a
low-priority child process (fontTools holds the interpreter lock for seconds; the pages' script runs go first),
started by a background thread after the server starts; it is kept beside the Brotli bodies (the data directory's
aggregates/compressed/), written to a temporary name and renamed, so a reader never sees half a file. Until it is
made, and whenever making it fails, the original font is served.

WOFF2 is Brotli inside; fontTools reads and writes it with the `brotli` Python package, which this project does
not install: the system's libbrotlienc/libbrotlidec (as compression.py uses) stand in for it through ctypes.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import io
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger("junheng")

ICON_FONT = "MaterialSymbols-Rounded."
TEXT_FONT = "SourceSansVF-Upright.ttf."

# Material Symbols names kept in the icon font's subset.
ICONS = tuple(sorted(set("""
    arrow_back arrow_forward balance close database domain family_restroom group image map query_stats school warning

    123 1k access_time add area_chart arrow_downward arrow_drop_down_circle arrow_upward arrows_outward attach_money
    audio_file auto_awesome bar_chart calendar_month calendar_today check check_box check_circle checklist
    chevron_left chevron_right circle code_blocks commit content_copy contrast currency_yen dark_mode data_object
    error euro expand_less expand_more experiment face finance_chip format_list_numbered info keep keep_off
    keyboard_arrow_down keyboard_arrow_right keyboard_double_arrow_left keyboard_double_arrow_right light_mode link
    list markdown menu more_horiz more_vert notes percent schedule search_activity sentiment_dissatisfied
    sentiment_neutral sentiment_sad sentiment_satisfied sentiment_very_satisfied show_chart smart_button smart_toy
    speed_1_75 star star_filled tag thumb_down thumb_up timelapse today translate upload video_file visibility
    visibility_off

    air analytics animation api bolt business call code dashboard delete devices download edit favorite folder home
    inventory inventory_2 license mail military_tech monitoring mood new_releases numbers open_in_new person public
    restart_alt search shopping_cart table thermostat trending_down trending_up water_drop waving_hand wb_sunny
    zoom_in zoom_out zoom_out_map

    arrow_drop_down arrow_drop_up arrow_left arrow_right cancel chevron_up close_fullscreen cloud_upload description
    done download_done error_outline expand_circle_down filter_list fullscreen fullscreen_exit help keyboard_arrow_left
    keyboard_arrow_up keyboard_double_arrow_down keyboard_double_arrow_up logout login menu_open refresh remove
    settings sort upload_file warning_amber
""".split())))

# Characters kept in the text font's subset (where the font has them): Basic Latin, Latin-1, the pinyin tone
# letters (ā á ǎ à … ǖ ǘ ǚ ǜ), General Punctuation (– — “ ” … ‰ •), super- and subscripts, the arrows, and each
# other symbol the app's strings use (APP_SYMBOLS: every character of junheng/**/*.py outside those blocks and CJK;
# tests/test_fonts.py checks the list is whole). Whole symbol blocks (Greek, mathematical operators, shapes,
# dingbats) made the subset 48,568 B; these 27,748 B. Other characters (Vietnamese, Cyrillic, a symbol in a name
# from a data file) are drawn by the system's font.
APP_SYMBOLS = "Στ€−√∝≈≠≤≥①②③●⚠✓✗"
TEXT_RANGES = ((0x20, 0x7E), (0xA0, 0xFF), (0x100, 0x101), (0x112, 0x113), (0x11A, 0x11B), (0x12A, 0x12B),
               (0x14C, 0x14D), (0x16A, 0x16B), (0x1CD, 0x1DC), (0x2C6, 0x2DD), (0x2000, 0x206F), (0x2070, 0x209F),
               (0x2190, 0x21FF), (0xFFFD, 0xFFFD), *((ord(c), ord(c)) for c in APP_SYMBOLS))
# Layout features kept beyond fontTools' defaults: tabular and lining figures for tables, case-sensitive forms.
TEXT_FEATURES = ("tnum", "pnum", "lnum", "case")

# The subset replaces the original only when it is at most this share of its size (a subset that is not much
# smaller is no subset: then the original is served).
MAX_SHARE = 0.8


# --- Brotli for fontTools' WOFF2, from the system's libraries --------------------------------------------------

class _SystemBrotli:
    """The two functions of the `brotli` package fontTools' woff2 module calls, on libbrotlienc/libbrotlidec."""

    MODE_GENERIC, MODE_TEXT, MODE_FONT = 0, 1, 2

    def __init__(self):
        enc = ctypes.CDLL(ctypes.util.find_library("brotlienc") or "libbrotlienc.so.1")
        dec = ctypes.CDLL(ctypes.util.find_library("brotlidec") or "libbrotlidec.so.1")
        enc.BrotliEncoderMaxCompressedSize.restype = ctypes.c_size_t
        enc.BrotliEncoderMaxCompressedSize.argtypes = [ctypes.c_size_t]
        enc.BrotliEncoderCompress.restype = ctypes.c_int
        enc.BrotliEncoderCompress.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_size_t,
                                              ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p]
        dec.BrotliDecoderDecompress.restype = ctypes.c_int
        dec.BrotliDecoderDecompress.argtypes = [ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t),
                                                ctypes.c_char_p]
        self._enc, self._dec = enc, dec

    def compress(self, data: bytes, mode: int = 0, quality: int = 11, lgwin: int = 22, lgblock: int = 0) -> bytes:
        size = ctypes.c_size_t(self._enc.BrotliEncoderMaxCompressedSize(len(data)) or len(data) + 1024)
        out = ctypes.create_string_buffer(size.value)
        if not self._enc.BrotliEncoderCompress(quality, lgwin, mode, len(data), data, ctypes.byref(size), out):
            raise ValueError("brotli could not compress")
        return out.raw[:size.value]

    def decompress(self, data: bytes) -> bytes:
        capacity = max(8 * len(data), 1 << 16)
        while capacity <= 1 << 28:  # the one-shot decoder fails when the output does not fit: try a larger one
            size = ctypes.c_size_t(capacity)
            out = ctypes.create_string_buffer(capacity)
            if self._dec.BrotliDecoderDecompress(len(data), data, ctypes.byref(size), out) == 1:
                return out.raw[:size.value]
            capacity *= 4
        raise ValueError("brotli could not decompress (corrupt data)")


def _woff2_ready() -> None:
    """Give fontTools' woff2 module a Brotli codec when the `brotli` package is absent."""
    from fontTools.ttLib import woff2
    if not woff2.haveBrotli:
        woff2.brotli = _SystemBrotli()
        woff2.haveBrotli = True


# --- the subsets ------------------------------------------------------------------------------------------------

def _open(data: bytes):
    _woff2_ready()
    from fontTools.ttLib import TTFont
    return TTFont(io.BytesIO(data), recalcTimestamp=False)  # the same font and list make the same bytes


def _letters(font) -> dict[str, str]:
    """The glyph drawn for each ASCII character (lower case preferred where both cases share one)."""
    glyph_char: dict[str, str] = {}
    for code, glyph in sorted(font.getBestCmap().items(), reverse=True):
        if code < 0x80:
            glyph_char.setdefault(glyph, chr(code))
    return glyph_char


def ligatures(font) -> dict[str, str]:
    """Icon name → the glyph its ligature draws, from the font's GSUB ligature subtables."""
    glyph_char = _letters(font)
    names: dict[str, str] = {}
    if "GSUB" not in font:
        return names
    for lookup in font["GSUB"].table.LookupList.Lookup:
        for table in lookup.SubTable:
            table = getattr(table, "ExtSubTable", table)
            for first, entries in getattr(table, "ligatures", {}).items():
                for entry in entries:
                    chars = [glyph_char.get(g) for g in [first, *entry.Component]]
                    if None not in chars:
                        names.setdefault("".join(chars), entry.LigGlyph)
    return names


def subset_icons(data: bytes, names=ICONS) -> bytes:
    """The icon font with only the ligatures (and glyphs) of names, as WOFF2."""
    from fontTools import subset
    font = _open(data)
    known = ligatures(font)
    if not known:
        raise ValueError("the icon font has no ligatures")
    kept = [known[name] for name in names if name in known]
    letters = {code for code in font.getBestCmap() if code < 0x80}
    options = subset.Options()
    options.layout_closure = False  # only the kept icons: no glyph reached through another icon's ligature
    options.layout_features = ["rlig", "liga"]
    options.flavor = "woff2"
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(glyphs=kept, unicodes=letters)
    subsetter.subset(font)
    return _save(font)


def text_codepoints(font) -> set[int]:
    covered = font.getBestCmap()
    return {code for low, high in TEXT_RANGES for code in range(low, high + 1) if code in covered}


def subset_text(data: bytes) -> bytes:
    """The text font with the TEXT_RANGES characters it has, its variation axes kept, as WOFF2."""
    from fontTools import subset
    font = _open(data)
    codes = text_codepoints(font)
    if not codes:
        raise ValueError("the text font has none of the kept characters")
    options = subset.Options()
    options.layout_features = [*options.layout_features, *TEXT_FEATURES]
    options.flavor = "woff2"
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codes)
    subsetter.subset(font)
    return _save(font)


def _save(font) -> bytes:
    out = io.BytesIO()
    font.flavor = "woff2"
    font.save(out)
    return out.getvalue()


def kind(name: str) -> str | None:
    """Which subset a font file's name takes: "icons", "text", or None."""
    if name.endswith(".woff2") and name.startswith(ICON_FONT):
        return "icons"
    if name.endswith(".woff2") and name.startswith(TEXT_FONT):
        return "text"
    return None


def make(kind_: str, data: bytes) -> bytes:
    """The subset of one font file's bytes (raises when fontTools cannot read or subset it)."""
    packed = subset_icons(data) if kind_ == "icons" else subset_text(data)
    if len(packed) > MAX_SHARE * len(data):
        raise ValueError(f"the {kind_} subset is {len(packed)} B of {len(data)} B: not a subset")
    return packed



def key(kind_: str, data: bytes) -> str:
    """The subset's name: a digest of the font's bytes, fontTools' version, the kept list and FORMAT."""
    from fontTools import version
    kept = "\n".join(ICONS) if kind_ == "icons" else repr((TEXT_RANGES, TEXT_FEATURES))
    digest = hashlib.blake2b(digest_size=16)
    for part in (kind_.encode(), data, version.encode(), kept.encode(), str(FORMAT).encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


# Raised when the way a subset is made changes (its options), so a stored subset is made again.
FORMAT = 2


# --- the store the middleware asks ------------------------------------------------------------------------------

# A subset is another body at the same URL: its own ETag (the original's with the subset's key), and a week's
# caching instead of the original's year, `immutable`: a browser holding a subset asks again after a week and
# gets a 304 when it is still the same, or the new subset after the kept list changed (an app release that draws
# a new icon; under `immutable` that browser would have drawn the new icon's name as text for a year).
CACHE_CONTROL = b"public, max-age=604800"


def media_dir() -> Path | None:
    """Streamlit's static/media folder (where its fonts are)."""
    try:
        from streamlit import file_util
        return Path(file_util.get_static_dir()) / "static" / "media"
    except Exception:  # noqa: BLE001 — then no subsets: the originals are served
        return None


class SubsetFonts:
    """The subsets of the font files in a folder: made in the background, read by the middleware."""

    def __init__(self, folder: Path | None, media: Path | None = None, nice: int = 19, timeout_s: float = 600.0):
        self.folder, self.media, self.nice, self.timeout_s = folder, media, nice, timeout_s
        self._ready: dict[str, tuple[bytes, bytes]] = {}  # file name → (subset, its ETag suffix)
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def fonts(self) -> list[tuple[str, Path]]:
        if self.media is None or not self.media.is_dir():
            return []
        return sorted((path.name, path) for path in self.media.iterdir() if kind(path.name) is not None)

    def start(self) -> threading.Thread | None:
        """Make (or load) the subsets in a background thread; the originals are served meanwhile."""
        if self.folder is None or self.thread is not None:
            return self.thread
        self.thread = threading.Thread(target=self.prepare, name="junheng-fonts", daemon=True)
        self.thread.start()
        return self.thread

    def prepare(self) -> None:
        """Load each font's subset from the folder, making the missing ones (one child process each)."""
        for name, path in self.fonts():
            try:
                self._prepare(name, path)
            except Exception:  # noqa: BLE001 — that font is served whole
                log.warning("the subset of %s could not be made; the whole font is served", name, exc_info=True)

    def _prepare(self, name: str, path: Path) -> None:
        kind_ = kind(name)
        data = path.read_bytes()
        made = key(kind_, data)
        target = self.folder / f"{made}.{kind_}.woff2"
        if not target.is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            self._spawn(kind_, path, target)
        subset = target.read_bytes()
        if not subset or len(subset) > MAX_SHARE * len(data):
            raise ValueError(f"{target.name} is not a subset of {name}")
        with self._lock:
            self._ready[name] = (subset, made[:16].encode("ascii"))
        log.info("font subset %s: %d B served instead of %d B", name, len(subset), len(data))

    def _spawn(self, kind_: str, source: Path, target: Path) -> None:
        nice = self.nice

        def lower() -> None:
            os.nice(nice)
        done = subprocess.run([sys.executable, "-m", "junheng.tools.fonts", kind_, str(source), str(target)],
                              capture_output=True, timeout=self.timeout_s, preexec_fn=lower)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode("utf-8", "replace")[-2000:])

    def get(self, path: str) -> tuple[bytes, bytes] | None:
        """The subset (and its ETag suffix) for a request's path, if it is made."""
        name = path.rpartition("/")[2]
        if not path.endswith("/static/media/" + name):
            return None
        with self._lock:
            return self._ready.get(name)

    def made(self) -> dict[str, int]:
        """File name → the size of its subset, for those made."""
        with self._lock:
            return {name: len(subset) for name, (subset, _) in self._ready.items()}


def _write(target: Path, body: bytes) -> None:
    """Write target whole or not at all: a temporary name in the same folder, then a rename."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(body)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m junheng.tools.fonts icons|text SOURCE TARGET`: write the subset of SOURCE to TARGET."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in ("icons", "text"):
        print("usage: python -m junheng.tools.fonts icons|text SOURCE TARGET", file=sys.stderr)
        return 2
    kind_, source, target = args
    _write(Path(target), make(kind_, Path(source).read_bytes()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
