"""The HTTP API, served beside Streamlit by the launcher (junheng/tools/serve.py): /api/v1/cohort, /api/v1/counties,
/api/v1/evaluate, authenticated by a bearer token (`junheng tokens add`). docs/api.md is its manual.

Only HTTP lives here: the token is found, the rate checked, the parameters handed to junheng/commands/api.py
(which goes through the gate and the audit log), and the answer or a JSON error in both languages sent back.
A failure the caller cannot fix is logged on the server and answered with a generic message: never a traceback
or a server path.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from pathlib import Path

from junheng.i18n import t

PREFIX = "/api/v1"
# The rate limit: at most RATE_LIMIT calls per token in any RATE_WINDOW_S seconds (a sliding window kept in this
# process: with several app servers behind a balancer each counts its own). A refused call costs nothing but the
# count; unauthenticated calls are counted per client address.
RATE_LIMIT = 60
RATE_WINDOW_S = 60.0
log = logging.getLogger("junheng.api")


class RateLimiter:
    """A sliding window of call times per key."""

    def __init__(self, limit: int = RATE_LIMIT, window_s: float = RATE_WINDOW_S):
        self.limit, self.window_s = limit, window_s
        self._calls: dict[str, deque] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> float:
        """0 when the call may go ahead (and is counted); else the seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - self.window_s:
                calls.popleft()
            if len(calls) >= self.limit:
                return max(0.001, calls[0] + self.window_s - now)
            calls.append(now)
            if len(self._calls) > 10_000:  # forget idle keys rather than grow without bound
                for idle in [k for k, v in self._calls.items() if not v]:
                    del self._calls[idle]
            return 0.0


limiter = RateLimiter()
_con_lock = threading.Lock()
_con: dict = {}


def _connection(data_dir: Path):
    """One DuckDB connection per data version (opening one takes about a second): a new one when the manifest
    changes (an import or a rollback)."""
    from junheng import settings
    from junheng.data import db
    manifest = Path(data_dir) / "manifest.json"
    key = (str(data_dir), manifest.stat().st_mtime_ns if manifest.exists() else 0)
    with _con_lock:
        if _con.get("key") != key:
            _con.update(key=key, con=db.connect(Path(data_dir), settings.load_thresholds()))
        return _con["con"]


def error_body(key: str, lang: str, **values) -> dict:
    """{"error": {"code", "message" (in lang), "zh", "en"}}."""
    zh, en = t(key, "zh", **values), t(key, "en", **values)
    return {"error": {"code": key, "message": zh if lang == "zh" else en, "zh": zh, "en": en}}


def _json_response(body, status: int = 200, headers: dict | None = None):
    from starlette.responses import Response
    return Response(json.dumps(body, ensure_ascii=False, default=str), status_code=status,
                    media_type="application/json; charset=utf-8", headers=headers)


def _lang(request) -> str:
    lang = request.query_params.get("lang", "zh")
    return lang if lang in ("zh", "en") else "zh"


def _bearer(request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _client(request) -> str:
    return request.client.host if request.client else "-"


def _params(request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        out.setdefault(name, []).append(value)
    return out


def citation_headers(about: dict) -> dict[str, str]:
    """The export's about as headers (JSON values with non-ASCII escaped: a header is Latin-1)."""
    def ascii_json(value):
        return json.dumps(value, ensure_ascii=True)
    return {"X-Junheng-Data-Version": ascii_json(about["data_version"]),
            "X-Junheng-Data-Checksum": about["data_checksum"],
            "X-Junheng-Generated-At": about["generated_at"],
            "X-Junheng-Query": ascii_json(about["query"]),
            "X-Junheng-Citation": ascii_json(about["citation"]),
            "Link": '</CITATION.cff>; rel="cite-as"'}


def handle(request, endpoint: str, work):
    """Run one call: token, rate, the command (work(data_dir, actor, params, lang)); errors as JSON."""
    from junheng import settings
    from junheng.access.accounts import AccountError
    from junheng.commands import api as api_commands
    from junheng.commands import tokens as token_commands
    from junheng.commands.gate import Denied, message
    data_dir = settings.data_dir()
    lang = _lang(request)
    params = _params(request)
    token = _bearer(request)
    if not token:  # counted per address, so that a flood of anonymous calls cannot fill the audit log
        wait = limiter.allow("ip:" + _client(request))
        if wait:
            return _json_response(error_body("api_rate_limited", lang, n=RATE_LIMIT, seconds=int(RATE_WINDOW_S)),
                                  429, {"Retry-After": str(int(wait) + 1)})
    try:
        actor = token_commands.authenticate(data_dir, token)
    except Denied as e:
        api_commands.refused(data_dir, None, endpoint, e.key)
        return _json_response(error_body(e.key, lang), 401, {"WWW-Authenticate": 'Bearer realm="junheng"'})
    wait = limiter.allow(actor.name)
    if wait:
        return _json_response(error_body("api_rate_limited", lang, n=RATE_LIMIT, seconds=int(RATE_WINDOW_S)), 429,
                              {"Retry-After": str(int(wait) + 1)})
    region = (params.get("region") or params.get("county") or [""])[0]
    try:
        return work(data_dir, actor, params, lang)
    except Denied as e:
        api_commands.refused(data_dir, actor, endpoint, e.key, region)
        status = 401 if e.key == "session_ended" else 403  # a token revoked since it was read
        body = error_body(e.key, lang, **e.values)
        if "role" in e.values:
            body["error"]["message"] = message(e, lang)
        return _json_response(body, status)
    except (api_commands.Invalid, AccountError) as e:  # every call is in the audit log, a refused one too
        api_commands.refused(data_dir, actor, endpoint, e.key, region)
        return _json_response(error_body(e.key, lang, **e.values), 400)
    except Exception:  # logged with its traceback on the server; the caller gets the generic message
        log.exception("API call %s failed", endpoint)
        api_commands.refused(data_dir, actor, endpoint, "api_failed", region)
        return _json_response(error_body("api_failed", lang), 500)


def _cohort(data_dir, actor, params, lang):
    from starlette.responses import Response

    from junheng.commands import api as api_commands
    from junheng.reports import exports
    data, kind, frame, result, damaged = api_commands.cohort(data_dir, actor, params, lang,
                                                             con=_connection(data_dir))
    region = result.about["query"]["region"] or "all"
    span = f"{result.about['query']['year_from']}-{result.about['query']['year_to']}"
    name = exports.file_name(f"cohort_{region}_{span}", kind)
    headers = {**citation_headers(result.about), "Content-Disposition": f'attachment; filename="{name}"',
               "X-Junheng-Rows": str(frame.height)}
    if damaged:
        headers["X-Junheng-Damaged-Years"] = json.dumps(sorted(int(y) for y in damaged))
    return Response(data, media_type=exports.COHORT_FORMATS[kind], headers=headers)


def _counties(data_dir, actor, params, lang):
    from junheng.commands import api as api_commands
    return _json_response({"counties": api_commands.counties(data_dir, actor, con=_connection(data_dir))})


def _evaluate(data_dir, actor, params, lang):
    from junheng.commands import api as api_commands
    return _json_response(api_commands.evaluate(data_dir, actor, params, con=_connection(data_dir)))


async def cohort_route(request):
    from starlette.concurrency import run_in_threadpool
    return await run_in_threadpool(handle, request, "cohort", _cohort)


async def counties_route(request):
    from starlette.concurrency import run_in_threadpool
    return await run_in_threadpool(handle, request, "counties", _counties)


async def evaluate_route(request):
    from starlette.concurrency import run_in_threadpool
    return await run_in_threadpool(handle, request, "evaluate", _evaluate)


async def not_found_route(request):
    return _json_response(error_body("api_not_found", _lang(request)), 404)


def routes():
    """The API's Starlette routes (the launcher adds them beside Streamlit's)."""
    from starlette.routing import Route
    return [Route(f"{PREFIX}/cohort", cohort_route, methods=["GET"]),
            Route(f"{PREFIX}/counties", counties_route, methods=["GET"]),
            Route(f"{PREFIX}/evaluate", evaluate_route, methods=["GET"]),
            Route("/api/{rest:path}", not_found_route, methods=["GET", "POST", "PUT", "DELETE"])]
