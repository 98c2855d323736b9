"""Gzip for what Streamlit's own middleware leaves uncompressed: its JavaScript bundles (/static/…) and the page.

Streamlit 1.67 deliberately serves /static/… and / uncompressed (`starlette_gzip_middleware._should_bypass_gzip`):
compressing a 4.7 MB bundle on every request costs the server more than the bandwidth it saves on a fast link,
and it expects a proxy in front to compress. A county bureau on a 1.5 Mbit/s government link is the opposite
case (Plotly's bundle alone is 26 s there, 7.6 s gzipped), and the app is also run without a proxy. So this
middleware compresses each distinct body once, keeps the result in memory keyed by a digest of the body, and
serves the stored bytes to every later visitor: the recurring cost is a hash, not a compression.

Responses that are already encoded (Streamlit's own middleware gzips everything else), ranged, not 200, not a
GET, or of a type that does not compress (images, fonts, archives) pass through untouched.

Brotli, where the browser asks for it: a quarter smaller than gzip for the bundles (Plotly's 4.7 MB: 1,418,782 B
gzipped, 1,059,653 B at Brotli's quality 11), but quality 11 costs about a minute of a core for Plotly's bundle. So a
body's first visitors get it gzipped while one low-priority thread makes its Brotli version, kept in memory and in
the data directory (aggregates/compressed/, named by the body's digest: once per Streamlit version, not per
start); later visitors get that. The encoder is the system's libbrotlienc through ctypes (no Python package);
without it everything stays gzip. Chromium asks for br only from a secure origin (https, or localhost): over plain
http to a server's address it sends "gzip, deflate", so Brotli reaches a county over https (docs/nginx.conf).

Fonts: Streamlit's icon and text fonts (545 KB of every first load) are answered with their subsets, made once in
the background by junheng/tools/fonts.py, from the same URLs; the whole fonts until the subsets are made.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gzip
import hashlib
import logging
import os
import queue
import threading
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger("junheng")

COMPRESSIBLE_TYPES = ("text/", "application/javascript", "application/json", "application/xml",
                      "image/svg+xml", "application/wasm", "application/manifest+json",
                      "application/vnd.junheng.outlines")  # the map outlines (views/map_component.py)
# Streaming replies are sent as they come, never held back to compress.
STREAMING_TYPES = ("text/event-stream",)
MINIMUM_SIZE = 500
# Level 6: Plotly's bundle 4.7 MB → 1.42 MB in 0.3-0.8 s once; level 9 saves 0.2 % more.
LEVEL = 6
# The frontend's bundles are 26 MB, about 7 MB gzipped; a browser fetches a third of them.
CACHE_BYTES = 48 * 1024 * 1024
# Below this a body is compressed on each request (the page itself, 1-2 KB; cheaper than keeping it); from it, kept
# by digest and made Brotli once (the frontend's small chunks of 1-32 KB: about 170 KB gzipped on a first load,
# a tenth less as Brotli).
CACHE_FROM = 1024


def _header(headers, name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def accepts_gzip(headers) -> bool:
    """Whether the request's Accept-Encoding lists gzip (not refused with q=0)."""
    value = (_header(headers, b"accept-encoding") or b"").decode("latin-1").lower()
    for part in value.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def accepts(headers, coding: str) -> bool:
    """Whether the request's Accept-Encoding lists coding (not refused with q=0)."""
    value = (_header(headers, b"accept-encoding") or b"").decode("latin-1").lower()
    for part in value.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() == coding:
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def compressible(content_type: bytes | None) -> bool:
    kind = (content_type or b"").decode("latin-1").lower()
    return kind.startswith(COMPRESSIBLE_TYPES) and not kind.startswith(STREAMING_TYPES)


class _Kept:
    """Bodies by digest, the least recently used dropped first beyond max_bytes (one larger is not kept)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bodies: OrderedDict[bytes, bytes] = OrderedDict()
        self.size = 0

    def __contains__(self, key: bytes) -> bool:
        return key in self.bodies

    def __len__(self) -> int:
        return len(self.bodies)

    def get(self, key: bytes) -> bytes | None:
        if key not in self.bodies:
            return None
        self.bodies.move_to_end(key)
        return self.bodies[key]

    def keep(self, key: bytes, packed: bytes) -> None:
        if key in self.bodies or len(packed) > self.max_bytes:
            return
        self.bodies[key] = packed
        self.size += len(packed)
        while self.size > self.max_bytes:
            _, dropped = self.bodies.popitem(last=False)
            self.size -= len(dropped)


class CompressedBodies:
    """Compressed bodies by digest, least recently used dropped first beyond max_bytes."""

    def __init__(self, max_bytes: int = CACHE_BYTES, level: int = LEVEL):
        self.max_bytes, self.level = max_bytes, level
        self._stored = _Kept(max_bytes)
        self._pending: dict[bytes, asyncio.Future] = {}

    def __len__(self) -> int:
        return len(self._stored)

    async def compress(self, body: bytes) -> bytes:
        """The gzip of body: stored, or compressed once in a worker thread while concurrent askers wait for it."""
        if len(body) < CACHE_FROM:
            return gzip.compress(body, self.level, mtime=0)
        key = _digest(body)
        held = self._stored.get(key)
        if held is not None:
            return held
        if key in self._pending:  # the first visitors after a start all ask for the same bundles
            return await asyncio.shield(self._pending[key])
        future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            packed = await asyncio.to_thread(gzip.compress, body, self.level, mtime=0)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._pending[key]
        future.set_result(packed)
        self._stored.keep(key, packed)
        return packed


def _digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=16).digest()


def brotli_encoder():
    """The system's Brotli encoder (libbrotlienc) as a function body, quality -> bytes; None without it."""
    name = ctypes.util.find_library("brotlienc")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.BrotliEncoderMaxCompressedSize.restype = ctypes.c_size_t
    lib.BrotliEncoderMaxCompressedSize.argtypes = [ctypes.c_size_t]
    lib.BrotliEncoderCompress.restype = ctypes.c_int
    lib.BrotliEncoderCompress.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p,
                                          ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p]

    def compress(body: bytes, quality: int = 11) -> bytes:
        size = ctypes.c_size_t(lib.BrotliEncoderMaxCompressedSize(len(body)) or len(body) + 1024)
        out = ctypes.create_string_buffer(size.value)
        # ctypes lets go of the interpreter lock during the call: the server goes on serving meanwhile
        if not lib.BrotliEncoderCompress(quality, 22, 0, len(body), body, ctypes.byref(size), out):
            raise ValueError("brotli could not compress the body")
        return out.raw[:size.value]
    return compress


class BrotliBodies:
    """Brotli versions of bodies by digest: made one at a time by a low-priority thread, kept in memory (least
    recently used dropped beyond max_bytes) and, when a folder is given, on disk for the next start."""

    def __init__(self, encoder, folder: Path | None = None, quality: int = 11, max_bytes: int = CACHE_BYTES):
        self.encoder, self.folder, self.quality, self.max_bytes = encoder, folder, quality, max_bytes
        self._stored = _Kept(max_bytes)
        self._queued: set[bytes] = set()
        self._jobs: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def _path(self, key: bytes) -> Path | None:
        return None if self.folder is None else self.folder / f"{key.hex()}.q{self.quality}.br"

    def get(self, key: bytes) -> bytes | None:
        """The Brotli body for a digest if it is made (in memory, or on disk from a run before), else None."""
        with self._lock:
            held = self._stored.get(key)
        if held is not None:
            return held
        path = self._path(key)
        if path is None or key in self._queued:
            return None
        try:
            packed = path.read_bytes()
        except OSError:
            return None
        if packed:
            self._keep(key, packed)
            return packed
        return None

    def schedule(self, key: bytes, body: bytes) -> None:
        """Make the Brotli version of body in the background (once per digest)."""
        with self._lock:
            if key in self._queued or key in self._stored:
                return
            self._queued.add(key)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="junheng-brotli", daemon=True)
                self._worker.start()
        self._jobs.put((key, body))

    def pending(self) -> int:
        return len(self._queued)

    def _work(self) -> None:
        try:  # Linux sets a thread's own priority: the pages' work goes first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        while True:
            key, body = self._jobs.get()
            try:
                packed = self.encoder(body, self.quality)
                self._keep(key, packed)
                self._store(key, packed)
            except Exception:  # noqa: BLE001 — that body stays gzip; the server goes on
                log.info("brotli compression failed; the body is sent gzipped", exc_info=True)
            finally:
                with self._lock:
                    self._queued.discard(key)

    def _keep(self, key: bytes, packed: bytes) -> None:
        with self._lock:
            self._stored.keep(key, packed)

    def _store(self, key: bytes, packed: bytes) -> None:
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(packed)
            tmp.replace(path)
        except OSError:
            log.info("a brotli body could not be stored; it is made again at the next start", exc_info=True)


OWN_FILES = ("/app/static/", "/_junheng/map/", "/component/")  # compressed here, not by Streamlit's middleware


class GzipAssets:
    """ASGI middleware: gzip the plain 200 replies to a GET that accepts gzip (see the module's docstring)."""

    def __init__(self, app, bodies: CompressedBodies | None = None, minimum_size: int = MINIMUM_SIZE,
                 brotli: BrotliBodies | None = None, fonts=None):
        self.app, self.minimum_size, self.brotli, self.fonts = app, minimum_size, brotli, fonts
        self.bodies = bodies or CompressedBodies()

    async def __call__(self, scope, receive, send):
        headers = scope.get("headers", ())
        if self.fonts is not None and scope["type"] == "http" and scope.get("method") == "GET":
            subset = self.fonts.get(scope.get("path", ""))
            if subset is not None and _header(headers, b"range") is None:
                await _serve_subset(self.app, scope, receive, send, *subset)
                return
        if (scope["type"] != "http" or scope.get("method") != "GET" or not accepts_gzip(headers)
                or _header(headers, b"range") is not None):
            await self.app(scope, receive, send)
            return
        start: dict | None = None
        chunks: list[bytes] = []
        passing = False

        async def capture(message):
            nonlocal start, passing
            if message["type"] == "http.response.start":
                response_headers = message.get("headers", ())
                if (message["status"] != 200 or _header(response_headers, b"content-encoding") is not None
                        or not compressible(_header(response_headers, b"content-type"))):
                    passing = True
                    await send(message)
                else:
                    start = message
                return
            if passing or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._finish(start, b"".join(chunks), send, self.brotli is not None and accepts(headers, "br"))

        if any(part in scope.get("path", "") for part in OWN_FILES):
            # The app's own static files (the vendored plotly.js, Leaflet) and the map outlines: Streamlit's
            # middleware would gzip them anew on every request (level 9, never Brotli); asked for plainly, they are
            # compressed here once (the national outlines: 246,536 B gzip, Brotli smaller).
            scope = {**scope, "headers": [(k, v) for k, v in headers if k.lower() != b"accept-encoding"]}
        await self.app(scope, receive, capture)

    async def _finish(self, start: dict, body: bytes, send, brotli: bool = False) -> None:
        headers = [(k, v) for k, v in start.get("headers", ()) if k.lower() not in (b"content-length", b"vary")]
        vary = _header(start.get("headers", ()), b"vary")
        vary_values = [v.strip() for v in vary.decode("latin-1").split(",") if v.strip()] if vary else []
        if "accept-encoding" not in (v.lower() for v in vary_values):
            vary_values.append("Accept-Encoding")
        headers.append((b"vary", ", ".join(vary_values).encode("latin-1")))
        if len(body) >= self.minimum_size:
            packed = None
            if brotli and len(body) >= CACHE_FROM:
                key = _digest(body)
                packed = self.brotli.get(key)
                if packed is None:
                    self.brotli.schedule(key, body)  # this visitor gets gzip, a later one Brotli
            if packed is not None:
                body = packed
                headers.append((b"content-encoding", b"br"))
            else:
                body = await self.bodies.compress(body)
                headers.append((b"content-encoding", b"gzip"))
            # Another representation, so a weak validator (as nginx does); Starlette compares If-None-Match
            # ignoring the W/, so a revalidation still answers 304.
            headers = [(k, b"W/" + v if k.lower() == b"etag" and not v.startswith(b"W/") else v) for k, v in headers]
        headers.append((b"content-length", str(len(body)).encode("ascii")))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


async def _serve_subset(app, scope, receive, send, subset: bytes, tag: bytes) -> None:
    """Streamlit's reply for a font file with the font's subset as its body (junheng/tools/fonts.py): its own
    ETag (the original's with the subset's tag), so a revalidation tells the two apart."""
    suffix = b"-" + tag
    headers = []
    for name, value in scope.get("headers", ()):
        if name.lower() == b"if-modified-since":
            continue  # the date is the whole font's: the ETag alone tells which body the browser holds
        if name.lower() == b"if-none-match":  # the subset's tag → the original's, for Streamlit's comparison
            if suffix + b'"' not in value:
                continue  # another body's tag (the whole font's, an old subset's): send the subset
            value = value.replace(suffix + b'"', b'"')
        headers.append((name, value))
    replacing = False

    async def replace(message):
        nonlocal replacing
        if message["type"] == "http.response.start":
            replacing = message["status"] == 200
            kept = [(k, v) for k, v in message.get("headers", ())
                    if k.lower() not in ((b"content-length", b"cache-control", b"accept-ranges") if replacing else ())]
            kept = [(k, _tagged(v, suffix) if k.lower() == b"etag" else v) for k, v in kept]
            if replacing:
                from junheng.tools.fonts import CACHE_CONTROL
                kept += [(b"content-length", str(len(subset)).encode("ascii")), (b"cache-control", CACHE_CONTROL)]
            await send({**message, "headers": kept})
        elif not replacing:
            await send(message)
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            await send({"type": "http.response.body", "body": subset, "more_body": False})

    await app({**scope, "headers": headers}, receive, replace)


def _tagged(etag: bytes, suffix: bytes) -> bytes:
    return etag[:-1] + suffix + b'"' if etag.endswith(b'"') else etag + suffix


def brotli_folder() -> Path | None:
    """Where Brotli bodies are kept between starts: the data directory's aggregates/compressed/."""
    try:
        from junheng import settings
        return Path(settings.data_dir()) / "aggregates" / "compressed"
    except Exception:  # noqa: BLE001 — then in memory only
        return None


def middleware():
    """The launcher's middleware list for `st.App(middleware=…)`: outside Streamlit's own, so it sees its replies."""
    from starlette.middleware import Middleware

    from junheng.tools import fonts
    encoder = brotli_encoder()
    brotli = BrotliBodies(encoder, brotli_folder()) if encoder is not None else None
    subsets = fonts.SubsetFonts(brotli_folder(), fonts.media_dir())
    subsets.start()  # in the background: the whole fonts are served until their subsets are made
    return [Middleware(GzipAssets, brotli=brotli, fonts=subsets)]
