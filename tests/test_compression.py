"""Compression end to end: the launcher's gzip for Streamlit's bundles, and permessage-deflate on the websocket."""
import asyncio
import gzip

import pytest

from junheng.tools import compression

SCRIPT = b"function plot(){return 'a long, very repetitive bundle';}\n" * 2000  # 112,000 bytes


def _app(status=200, content_type=b"application/javascript", body=SCRIPT, extra=(), chunks=3):
    """A tiny ASGI app sending body in chunks, as Starlette's FileResponse does."""
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["path"])
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                   (b"etag", b'"abc"'), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        step = max(1, len(body) // chunks)
        parts = [body[i:i + step] for i in range(0, len(body), step)] or [b""]
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})
    app.calls = calls
    return app


def _get(middleware, path="/static/js/PlotlyChart.js", accept=b"gzip, deflate, br", method="GET", extra=()):
    """Run one request through the middleware; return (status, headers as a dict, body)."""
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    headers = [(b"accept-encoding", accept)] if accept is not None else []
    scope = {"type": "http", "method": method, "path": path, "headers": [*headers, *extra]}
    asyncio.run(middleware(scope, receive, send))
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, b"".join(
        m.get("body", b"") for m in sent[1:])


def test_a_bundle_asked_with_gzip_comes_gzipped_with_its_length_vary_and_a_weak_etag():
    status, headers, body = _get(compression.GzipAssets(_app()))
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == SCRIPT
    assert int(headers["content-length"]) == len(body) < len(SCRIPT) / 20  # a repeated line: ≥ 20×
    assert headers["vary"] == "Accept-Encoding"
    assert headers["etag"] == 'W/"abc"'


def test_the_same_bundle_is_compressed_once_and_then_served_from_memory(monkeypatch):
    packed = []
    real = gzip.compress
    monkeypatch.setattr(compression.gzip, "compress", lambda *a, **k: packed.append(1) or real(*a, **k))
    middleware = compression.GzipAssets(_app())
    bodies = {_get(middleware)[2] for _ in range(3)}
    assert len(bodies) == 1 and len(packed) == 1 and len(middleware.bodies) == 1


@pytest.mark.parametrize(("accept", "method", "extra", "status", "content_type"), [
    (None, "GET", (), 200, b"application/javascript"),               # no Accept-Encoding
    (b"gzip;q=0, identity", "GET", (), 200, b"application/javascript"),  # gzip refused
    (b"br", "GET", (), 200, b"application/javascript"),              # gzip not offered
    (b"gzip", "HEAD", (), 200, b"application/javascript"),
    (b"gzip", "GET", ((b"range", b"bytes=0-99"),), 200, b"application/javascript"),
    (b"gzip", "GET", (), 304, b"application/javascript"),
    (b"gzip", "GET", (), 200, b"image/png"),
    (b"gzip", "GET", (), 200, b"font/woff2"),
    (b"gzip", "GET", (), 200, b"text/event-stream"),
])
def test_what_should_not_be_gzipped_passes_through_byte_for_byte(accept, method, extra, status, content_type):
    middleware = compression.GzipAssets(_app(status=status, content_type=content_type))
    got_status, headers, body = _get(middleware, accept=accept, method=method, extra=extra)
    assert (got_status, body) == (status, SCRIPT)
    assert "content-encoding" not in headers and headers["etag"] == '"abc"'


def test_a_reply_streamlit_already_gzipped_is_not_gzipped_twice():
    already = gzip.compress(SCRIPT)
    middleware = compression.GzipAssets(_app(body=already, extra=((b"content-encoding", b"gzip"),)))
    _, headers, body = _get(middleware)
    assert body == already and headers["content-encoding"] == "gzip"


def test_a_small_page_is_sent_plain_but_still_varies_by_encoding():
    _, headers, body = _get(compression.GzipAssets(_app(body=b"<html></html>", content_type=b"text/html")))
    assert body == b"<html></html>" and "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding" and headers["content-length"] == "13"


def test_an_existing_vary_keeps_its_values():
    _, headers, _ = _get(compression.GzipAssets(_app(extra=((b"vary", b"Cookie"),))))
    assert headers["vary"] == "Cookie, Accept-Encoding"


def test_the_store_drops_the_least_recently_used_body_beyond_its_size():
    bodies = compression.CompressedBodies(max_bytes=1000)
    texts = [bytes([65 + i]) * 40_000 + bytes(range(256)) * 4 for i in range(3)]  # each 391-393 bytes gzipped

    async def run():
        for text in (texts[0], texts[1], texts[0], texts[2]):  # texts[1] is then the least recently used
            assert gzip.decompress(await bodies.compress(text)) == text
    asyncio.run(run())
    stored = {gzip.decompress(packed)[0] for packed in bodies._stored.bodies.values()}
    assert stored == {ord("A"), ord("C")}


def test_concurrent_first_requests_for_one_bundle_compress_it_once(monkeypatch):
    packed = []
    real = gzip.compress
    monkeypatch.setattr(compression.gzip, "compress", lambda *a, **k: packed.append(1) or real(*a, **k))
    bodies = compression.CompressedBodies()

    async def run():
        return await asyncio.gather(*(bodies.compress(SCRIPT) for _ in range(5)))
    results = asyncio.run(run())
    assert len(set(results)) == 1 and len(packed) == 1


def test_the_launcher_sends_plotly_gzipped_and_negotiates_websocket_deflate(tmp_path):
    """Bytes on the wire from the real launcher: Plotly's bundle (4.7 MB plain) under a third gzipped, the page
    gzipped, and the websocket's handshake answered with permessage-deflate."""
    import re
    import urllib.request
    from pathlib import Path

    import streamlit
    import websockets.sync.client

    from junheng.tools.browser import streamlit_server
    with streamlit_server(tmp_path) as url:
        with urllib.request.urlopen(url + "/", timeout=30) as reply:
            page = reply.read().decode()
        bundle = re.search(r'src="\.?/?(static/js/index\.[\w-]+\.js)"', page).group(1)
        sizes = {}
        for name, path in {"index": bundle, "plotly": _plotly_bundle()}.items():
            for accept in ("identity", "gzip"):
                request = urllib.request.Request(f"{url}/{path}", headers={"Accept-Encoding": accept})
                with urllib.request.urlopen(request, timeout=60) as reply:
                    body = reply.read()
                    sizes[name, accept] = (len(body), reply.headers.get("Content-Encoding"))
                    if accept == "gzip":
                        assert len(gzip.decompress(body)) == sizes[name, "identity"][0]
        request = urllib.request.Request(url + "/", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            page_encoding = reply.headers.get("Content-Encoding")
        ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        with websockets.sync.client.connect(ws_url, subprotocols=["streamlit"], compression="deflate",
                                            open_timeout=30) as ws:
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
    plain = (Path(streamlit.__file__).parent / "static" / _plotly_bundle()).stat().st_size  # 4,715,877 in 1.67
    assert sizes["plotly", "identity"] == (plain, None)
    assert sizes["plotly", "gzip"][1] == "gzip" and sizes["plotly", "gzip"][0] < plain / 3
    assert sizes["index", "gzip"][1] == "gzip" and sizes["index", "gzip"][0] < sizes["index", "identity"][0] / 2
    assert page_encoding == "gzip"
    assert extensions.startswith("permessage-deflate")


def _plotly_bundle() -> str:
    """The path of Streamlit's Plotly chunk (its name carries a content hash that changes with the version)."""
    from pathlib import Path

    import streamlit
    found = sorted((Path(streamlit.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    assert len(found) == 1, found
    return f"static/js/{found[0].name}"


def test_through_docs_nginx_conf_the_bundle_stays_gzipped_and_the_websocket_deflated(tmp_path):
    """docs/nginx.conf in front of the launcher: Plotly's bundle arrives gzipped (nginx neither re-compresses nor
    strips the launcher's encoding) and permessage-deflate is negotiated through the proxy."""
    import urllib.request

    import websockets.sync.client

    from junheng.tools.browser import streamlit_server
    from tests.test_scale import nginx
    with streamlit_server(tmp_path) as server, nginx([server]) as (url, _):
        request = urllib.request.Request(f"{url}/{_plotly_bundle()}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            encoding, body = reply.headers.get("Content-Encoding"), reply.read()
        ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        with websockets.sync.client.connect(ws_url, subprotocols=["streamlit"], compression="deflate",
                                            open_timeout=30) as ws:
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
    assert encoding == "gzip" and len(body) < len(gzip.decompress(body)) / 3
    assert extensions.startswith("permessage-deflate")


def _brotli_decode(packed: bytes, size: int) -> bytes:
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("brotlidec"))
    out_size = ctypes.c_size_t(size)
    out = ctypes.create_string_buffer(size)
    assert lib.BrotliDecoderDecompress(ctypes.c_size_t(len(packed)), packed, ctypes.byref(out_size), out) == 1
    return out.raw[:out_size.value]


def _wait_made(brotli, timeout_s: float = 30.0) -> None:
    import time
    deadline = time.monotonic() + timeout_s
    while brotli.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert brotli.pending() == 0


needs_brotli = pytest.mark.skipif(compression.brotli_encoder() is None, reason="no libbrotlienc on this machine")


@needs_brotli
def test_brotli_comes_after_the_first_visitor_and_only_to_a_browser_that_asks_for_it(tmp_path):
    encoded = []
    real = compression.brotli_encoder()
    brotli = compression.BrotliBodies(lambda body, q: encoded.append(q) or real(body, q), tmp_path)
    middleware = compression.GzipAssets(_app(), brotli=brotli)
    status, headers, body = _get(middleware)  # the first visitor: gzip at once, Brotli made meanwhile
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == SCRIPT
    _wait_made(brotli)
    status, headers, body = _get(middleware)
    assert status == 200 and headers["content-encoding"] == "br" and headers["vary"] == "Accept-Encoding"
    assert _brotli_decode(body, len(SCRIPT) + 1) == SCRIPT and int(headers["content-length"]) == len(body)
    # Chromium over plain http to a server's address asks for "gzip, deflate" only
    assert _get(middleware, accept=b"gzip, deflate")[1]["content-encoding"] == "gzip"
    assert _get(middleware, accept=b"gzip, br;q=0")[1]["content-encoding"] == "gzip"
    assert encoded == [11]  # made once, at the best quality


@needs_brotli
def test_the_next_start_reads_the_brotli_bodies_the_one_before_made(tmp_path):
    first = compression.BrotliBodies(compression.brotli_encoder(), tmp_path)
    middleware = compression.GzipAssets(_app(), brotli=first)
    _get(middleware)
    _wait_made(first)
    assert len(list(tmp_path.glob("*.br"))) == 1

    def never(*_):
        raise AssertionError("compressed again")
    again = compression.BrotliBodies(never, tmp_path)
    status, headers, body = _get(compression.GzipAssets(_app(), brotli=again))
    assert headers["content-encoding"] == "br" and _brotli_decode(body, len(SCRIPT) + 1) == SCRIPT


def test_a_page_or_small_reply_is_never_held_for_brotli(tmp_path):
    brotli = compression.BrotliBodies(lambda *_: b"x", tmp_path)
    small = b"<html>" + b"a" * (compression.CACHE_FROM - 100)  # (2,000 bytes was small until CACHE_FROM fell to 1 KB)
    status, headers, body = _get(compression.GzipAssets(_app(body=small), brotli=brotli))
    assert headers["content-encoding"] == "gzip" and brotli.pending() == 0  # below CACHE_FROM: gzip each time
