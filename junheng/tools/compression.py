"""Gzip for what Streamlit's own middleware leaves uncompressed: its JavaScript bundles (/static/…) and the page.

Streamlit 1.67 deliberately serves /static/… and / uncompressed (`starlette_gzip_middleware._should_bypass_gzip`):
compressing a 4.7 MB bundle on every request costs the server more than the bandwidth it saves on a fast link,
and it expects a proxy in front to compress. A county bureau on a 1.5 Mbit/s government link is the opposite
case (Plotly's bundle alone is 26 s there, 7.6 s gzipped), and the app is also run without a proxy. So this
middleware compresses each distinct body once, keeps the result in memory keyed by a digest of the body, and
serves the stored bytes to every later visitor: the recurring cost is a hash, not a compression.

Responses that are already encoded (Streamlit's own middleware gzips everything else), ranged, not 200, not a
GET, or of a type that does not compress (images, fonts, archives) pass through untouched.
"""
from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections import OrderedDict

COMPRESSIBLE_TYPES = ("text/", "application/javascript", "application/json", "application/xml",
                      "image/svg+xml", "application/wasm", "application/manifest+json")
# Streaming replies are sent as they come, never held back to compress.
STREAMING_TYPES = ("text/event-stream",)
MINIMUM_SIZE = 500
# Level 6: Plotly's bundle 4.7 MB → 1.42 MB in 0.3-0.8 s once; level 9 saves 0.2 % more.
LEVEL = 6
# The frontend's bundles are 26 MB, about 7 MB gzipped; a browser fetches a third of them.
CACHE_BYTES = 48 * 1024 * 1024
# Below this a body is compressed on each request (the page itself, 1-2 KB; cheaper than keeping it).
CACHE_FROM = 32 * 1024


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


def compressible(content_type: bytes | None) -> bool:
    kind = (content_type or b"").decode("latin-1").lower()
    return kind.startswith(COMPRESSIBLE_TYPES) and not kind.startswith(STREAMING_TYPES)


class CompressedBodies:
    """Compressed bodies by digest, least recently used dropped first beyond max_bytes."""

    def __init__(self, max_bytes: int = CACHE_BYTES, level: int = LEVEL):
        self.max_bytes, self.level = max_bytes, level
        self._stored: OrderedDict[bytes, bytes] = OrderedDict()
        self._size = 0
        self._pending: dict[bytes, asyncio.Future] = {}

    def __len__(self) -> int:
        return len(self._stored)

    async def compress(self, body: bytes) -> bytes:
        """The gzip of body: stored, or compressed once in a worker thread while concurrent askers wait for it."""
        if len(body) < CACHE_FROM:
            return gzip.compress(body, self.level, mtime=0)
        key = hashlib.blake2b(body, digest_size=16).digest()
        if key in self._stored:
            self._stored.move_to_end(key)
            return self._stored[key]
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
        self._keep(key, packed)
        return packed

    def _keep(self, key: bytes, packed: bytes) -> None:
        if len(packed) > self.max_bytes:
            return
        self._stored[key] = packed
        self._size += len(packed)
        while self._size > self.max_bytes:
            _, dropped = self._stored.popitem(last=False)
            self._size -= len(dropped)


class GzipAssets:
    """ASGI middleware: gzip the plain 200 replies to a GET that accepts gzip (see the module's docstring)."""

    def __init__(self, app, bodies: CompressedBodies | None = None, minimum_size: int = MINIMUM_SIZE):
        self.app, self.minimum_size = app, minimum_size
        self.bodies = bodies or CompressedBodies()

    async def __call__(self, scope, receive, send):
        headers = scope.get("headers", ())
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
                await self._finish(start, b"".join(chunks), send)

        await self.app(scope, receive, capture)

    async def _finish(self, start: dict, body: bytes, send) -> None:
        headers = [(k, v) for k, v in start.get("headers", ()) if k.lower() not in (b"content-length", b"vary")]
        vary = _header(start.get("headers", ()), b"vary")
        vary_values = [v.strip() for v in vary.decode("latin-1").split(",") if v.strip()] if vary else []
        if "accept-encoding" not in (v.lower() for v in vary_values):
            vary_values.append("Accept-Encoding")
        headers.append((b"vary", ", ".join(vary_values).encode("latin-1")))
        if len(body) >= self.minimum_size:
            body = await self.bodies.compress(body)
            headers.append((b"content-encoding", b"gzip"))
            # Another representation, so a weak validator (as nginx does); Starlette compares If-None-Match
            # ignoring the W/, so a revalidation still answers 304.
            headers = [(k, b"W/" + v if k.lower() == b"etag" and not v.startswith(b"W/") else v) for k, v in headers]
        headers.append((b"content-length", str(len(body)).encode("ascii")))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def middleware():
    """The launcher's middleware list for `st.App(middleware=…)`: outside Streamlit's own, so it sees its replies."""
    from starlette.middleware import Middleware
    return [Middleware(GzipAssets)]
