"""Start the app: `python -m junheng.tools.serve [--server.port 8501 …]` (what `make run` and the tests use).

The frame (app.py) runs as an `st.App` with two routes of the app's own, for the login cookie: a Streamlit
script cannot set a cookie, so after a login the page exchanges a one-time ticket for a signed, HttpOnly
session cookie here, and log-out clears it.

Streamlit treats an app with a pages/ directory as an old-style multipage app until the first script run calls
st.navigation; on a fresh server the first visit straight to a page's link was answered with an English
"Page not found" dialog (streamlit#9992). This frame always uses st.navigation, so the launcher says so first.
The app's own log (which holds the details users are never shown) goes to the server's standard error.
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import threading

from junheng.settings import LAUNCHER_ENV, PROJECT_DIR


def _cookie_response(request, value: str | None):
    from starlette.responses import Response

    from junheng.access import sessions
    response = Response(status_code=204 if value is not None else 400)
    if value:
        response.set_cookie(sessions.COOKIE, value, max_age=sessions.hours() * 3600, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https", path="/")
    return response


async def session_route(request):
    """POST a signed one-time ticket; get the session cookie (204), or 400 for a spent or forged ticket."""
    from junheng import settings
    from junheng.access import sessions
    ticket = (await request.body()).decode("ascii", "replace")[:512]
    return _cookie_response(request, sessions.exchange(settings.data_dir(), ticket))


async def logout_route(request):
    """End the session named by the cookie and clear the cookie."""
    from starlette.responses import Response

    from junheng import settings
    from junheng.access import sessions
    data_dir = settings.data_dir()
    sessions.end(data_dir, sessions.cookie_session(data_dir, request.cookies.get(sessions.COOKIE)))
    response = Response(status_code=204)
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def map_outlines_route(request):
    """The county outlines the map component fetches (junheng/views/map_component.py): a versioned URL, so the
    browser keeps the reply; 404 for a version this data directory does not have."""
    import asyncio

    from starlette.responses import Response

    from junheng import settings
    from junheng.views import map_component
    p = request.path_params
    body = await asyncio.to_thread(map_component.geometry_bytes, settings.data_dir(), p["tag"], p["detail"],
                                   p["regions"])
    if body is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    return Response(body, media_type=map_component.MEDIA_TYPE,
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})


def build_app():
    """The st.App: the frame plus the cookie routes."""
    import streamlit as st
    from starlette.routing import Route

    # the routes' names only: the sessions module (SQLAlchemy, argon2, Polars) loads in the warm-up, not before
    # the server listens
    from junheng.access.routes import LOGOUT_ROUTE, SESSION_ROUTE
    from junheng.tools import api, compression
    from junheng.views.map_component import GEOMETRY_ROUTE
    return st.App(str(PROJECT_DIR / "app.py"), routes=[
        Route(SESSION_ROUTE, session_route, methods=["POST"]),
        Route(LOGOUT_ROUTE, logout_route, methods=["POST"]),
        Route(GEOMETRY_ROUTE, map_outlines_route, methods=["GET"]),
        *api.routes(),  # the HTTP API (/api/v1/…, junheng/tools/api.py): its commands load at its first call
    ], middleware=compression.middleware())  # gzip for the bundles Streamlit sends plain (compression.py)


def _config(argv: list[str]) -> dict:
    """`--server.port 8501 --server.headless true` → {"server.port": 8501, "server.headless": True}."""
    out, it = {}, iter(argv)
    for flag in it:
        if not flag.startswith("--") or "." not in flag:
            raise SystemExit(f"unknown option {flag!r}: give Streamlit options as --section.name value")
        name, _, value = flag[2:].partition("=")
        value = value or next(it, "")
        out[name] = {"true": True, "false": False}.get(value.lower(), int(value) if value.isdigit() else value)
    return out


def _warm() -> None:
    """Import what the first page needs and open the data while the server and the browser start (the first
    page of a fresh server took 6-15 s, most of it imports and opening the national data); then set aside what
    is loaded for good (modules, the data's connection) from the garbage collector's full passes."""
    import time
    start = time.perf_counter()
    import pandas  # noqa: F401 — Streamlit imports it at a page's first table or component (0.17 s)

    # not streamlit_folium: a component declared outside a script is never served
    from junheng.views import cache, overview_views
    imported = time.perf_counter()
    overview_views.warm()
    # One of Streamlit's one-time costs that fell on the first script run (0.13 s of its 0.54 s): declaring the
    # map's component asks inspect.getmodule for its caller, which maps every loaded module to its real path the
    # first time it is asked. (Another, the emoji catalogue's pattern, is never compiled: the app's icons are its
    # own SVG and Material Symbols, not emoji.) The first page's map values (overview_views.warm) import Folium's
    # module for their colour classes (figures.maps) here, not in the first script run.
    import inspect

    from junheng.views import evaluation_views, login, present  # noqa: F401 — the frame's and first page's
    inspect.getmodule(inspect.currentframe())
    warmed = time.perf_counter()
    logging.getLogger("junheng.serve").info("warm-up: imports %.2f s, data and first map %.2f s",
                                            imported - start, warmed - imported)
    # The rest waits for the first page to be served: each holds the interpreter lock for a while (Folium about
    # 0.15 s, the account database's SQLAlchemy and argon2 0.25 s, pinyin's dictionaries about 0.4 s, geopandas
    # and the county outlines about 0.3 s, a full collection about 0.15 s), which the first page's script run
    # then waited for.
    time.sleep(AFTER_FIRST_PAGE_S)
    import folium.plugins  # noqa: F401 — the maps the other pages build
    import plotly.graph_objects  # noqa: F401 — the charts of the other pages

    from junheng.access import sessions  # noqa: F401 — the account database, for a signed-in visitor
    from junheng.views import county_search  # noqa: F401 — pinyin for the first county search
    cache.warm_later()
    from junheng.data import precompute  # the evaluation pages' plans not stored yet, in a low-priority process
    precompute.start_warm(cache.data_dir())
    gc.collect()
    gc.freeze()


AFTER_FIRST_PAGE_S = 10.0


# Streamlit runs a full garbage collection after every script run (`runner.postScriptGC`): with this app's
# modules loaded that was two thirds of the server's processor time per run (the load test, 80 runs on the demo
# data: 13.5 s of server CPU with it, 4.9 s without). The launcher turns it off and collects at most once every
# GC_EVERY_S seconds instead; Python's own generational collection runs as usual in between.
GC_EVERY_S = 30.0


def collect_garbage(stop: threading.Event, every_s: float = GC_EVERY_S) -> None:
    """A full garbage collection every every_s seconds until stop is set (the launcher's thread)."""
    while not stop.wait(every_s):
        gc.collect()


def project_options() -> dict:
    """The project's .streamlit/config.toml as options ("client.showErrorDetails": "none", ...). Streamlit reads
    that file from the working directory only: a server started elsewhere (`cd /srv && python -m
    junheng.tools.serve`) would show tracebacks, offer the tables' own unaudited CSV export, serve no static files
    (no map, no charts' script) and lose the theme. Passed as the server's options, they hold from anywhere."""
    import tomllib
    with open(PROJECT_DIR / ".streamlit" / "config.toml", "rb") as f:
        sections = tomllib.load(f)
    return {f"{section}.{name}": value for section, options in sections.items() for name, value in options.items()}


def server_config(argv: list[str]) -> dict:
    """Streamlit's options for this server: the project's config file, the production defaults, then the command
    line's."""
    # No file watcher outside development: it polls the project's files while serving (pass
    # --server.fileWatcherType auto to reload on edits). No welcome banner: for its "External URL" line a
    # headless Streamlit asks checkip.amazonaws.com for this machine's address, twice with a 1 s timeout each,
    # before it serves anything (0.36 s here; on an intranet without internet, seconds) - the launcher prints
    # the local address itself.
    return {**project_options(), "server.fileWatcherType": "none", "runner.postScriptGC": False,
            "logger.hideWelcomeMessage": True, **_config(argv)}


def main(argv: list[str] | None = None) -> None:
    from streamlit import delta_generator
    from streamlit.runtime.pages_manager import PagesManager
    PagesManager.uses_pages_directory = False
    # Streamlit checks once, at the first element a script draws, whether it runs in a Python prompt, to warn
    # that it should be started with `streamlit run`: with inspect.stack(), which reads the source of every
    # frame on the script thread's stack (0.1-0.3 s of the first page of a fresh server). This is the server.
    delta_generator._use_warning_has_been_displayed = True
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = server_config(sys.argv[1:] if argv is None else argv)
    if config["logger.hideWelcomeMessage"]:
        port = config.get("server.port") or os.environ.get("STREAMLIT_SERVER_PORT") or 8501
        logging.getLogger("junheng.serve").info("Junheng starts: open http://localhost:%s", port)
    os.environ[LAUNCHER_ENV] = "1"  # app.py checks it first: the login routes below are served
    threading.Thread(target=_warm, name="junheng-warm", daemon=True).start()
    if not config["runner.postScriptGC"]:
        threading.Thread(target=collect_garbage, args=(threading.Event(),), name="junheng-gc", daemon=True).start()
    build_app().run(config=config)


if __name__ == "__main__":
    main()
