"""Runtime settings, declared once as data and read from the environment."""
from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The named queries and the static files are package data (in a checkout, links to the top-level queries/ and
# static/), so an installed wheel finds them in itself.
QUERY_DIR = PACKAGE_DIR / "queries"
STATIC_DIR = PACKAGE_DIR / "static"
# The checkout: the web frame (app.py, pages/) lives there, not in the package.
PROJECT_DIR = PACKAGE_DIR.parent
# Set by the launcher (junheng/tools/serve.py) in its own process before the server starts: the frame refuses
# to run under a bare `streamlit run app.py`, which lacks the launcher's login routes. Not a setting.
LAUNCHER_ENV = "JUNHENG_LAUNCHER"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    check: Callable[[str], str | None] = lambda value: None  # why a value is refused (None: accepted)


def _lang_problem(value: str) -> str | None:
    return None if value in LANGS else "must be zh or en"


TILE_URL = r"^https?://[^\s\"'<>`\\]+$"


def tile_url_problem(url: str) -> str | None:
    """Why url cannot be a map tile URL template (None when it can): http(s) with {z}, {x} and {y}."""
    import re
    if not re.match(TILE_URL, url):
        return "must be an http:// or https:// URL without spaces, quotes or angle brackets"
    missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
    if missing:
        return f"must contain {', '.join(missing)}"
    return None


def _tile_problem(value: str) -> str | None:
    return tile_url_problem(value) if value else None


def _flag_problem(value: str) -> str | None:
    return None if value in ("0", "1") else "must be 0 or 1"


def _database_problem(value: str) -> str | None:
    if value and not value.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
        return "must be empty, sqlite:///… or postgresql+psycopg://…"
    return None


def _proxy_problem(value: str) -> str | None:
    import ipaddress
    try:
        value and ipaddress.ip_address(value)
    except ValueError:
        return "must be an IP address, e.g. 127.0.0.1"
    return None


MEMORY = r"\d{1,6}(\.\d{1,3})?\s?(MB|GB|MiB|GiB)"


def _memory_problem(value: str) -> str | None:
    import re
    return None if re.fullmatch(MEMORY, value) else "must be a size such as 1GB or 512MB"


def flag(name: str) -> bool:
    """A 0/1 setting as a boolean."""
    return get(name) == "1"


LANGS = ("zh", "en")
SETTINGS = (
    Setting("JUNHENG_DATA_DIR", "data", "Data directory holding snapshots/, boundaries/ and manifest.json."),
    Setting("JUNHENG_THRESHOLDS", str(PACKAGE_DIR / "rules" / "thresholds.toml"),
            "TOML file with evaluation thresholds, per-school minimums and counting rules; copy and edit it for a "
            "province's own rules."),
    Setting("JUNHENG_TILE_URL", "", "Optional base-map tile URL template (e.g. an intranet tile server): http(s) with "
            "{z}/{x}/{y}. Empty: boundaries only, nothing fetched.", _tile_problem),
    Setting("JUNHENG_LANG", "zh", "Default interface language: zh or en.", _lang_problem),
    Setting("JUNHENG_DATABASE_URL", "", "Database for accounts, sessions and the audit log. Empty: the SQLite file "
            "access.sqlite3 in the data directory; postgresql+psycopg://… for several app servers.", _database_problem),
    Setting("JUNHENG_TRUSTED_PROXY", "", "Address of the reverse proxy in front of the app servers (e.g. 127.0.0.1): "
            "for connections from it, the client's address (for the per-address login limit and the audit log) is "
            "the last one in X-Forwarded-For. Empty: the connection's own address.", _proxy_problem),
    Setting("JUNHENG_SESSION_HOURS", "12", "Hours a login lasts (the signed session cookie expires then).",
            lambda v: None if v.isdigit() and 1 <= int(v) <= 24 * 30 else "must be a whole number of hours, 1–720"),
    Setting("JUNHENG_GUEST_ACCESS", "1", "1: visitors who are not logged in may read the synthetic demo data; 0: "
            "everyone must log in.", lambda v: _flag_problem(v)),
    Setting("JUNHENG_ANALYST_EXACT_COUNTS", "0", "1: analysts and admins see exact small counts of left-behind "
            "children; 0: suppressed for everyone.", lambda v: _flag_problem(v)),
    Setting("JUNHENG_DUCKDB_MEMORY", "1GB", "Memory DuckDB may use per data connection (one per app server): larger "
            "query steps spill to the system's temporary directory instead of growing the server.", _memory_problem),
)
_BY_NAME = {s.name: s for s in SETTINGS}


class SettingsError(ValueError):
    """A setting has a value the app cannot use."""


def get(name: str) -> str:
    """The value of one declared setting (environment first, then default)."""
    return os.environ.get(name, _BY_NAME[name].default)


def check() -> None:
    """Refuse every invalid setting at start-up with one clear message (app and command line alike)."""
    problems = []
    for s in SETTINGS:
        value = get(s.name)
        problem = s.check(value)
        if problem:
            shown = "(hidden)" if s.name == "JUNHENG_DATABASE_URL" else repr(value[:80])  # may hold a password
            problems.append(f"{s.name}={shown} {problem}")
    if problems:
        raise SettingsError("设置无效 / invalid settings: " + "; ".join(problems))


def data_dir() -> Path:
    return Path(get("JUNHENG_DATA_DIR")).expanduser()


def default_lang() -> str:
    lang = get("JUNHENG_LANG")
    if _lang_problem(lang):
        raise SettingsError(f"设置无效 / invalid settings: JUNHENG_LANG must be zh or en, not {lang[:20]!r}")
    return lang


def tile_url() -> str:
    """The configured tile URL template, or '' (an invalid one is refused like every setting)."""
    url = get("JUNHENG_TILE_URL")
    if _tile_problem(url):
        raise SettingsError(f"设置无效 / invalid settings: JUNHENG_TILE_URL {_tile_problem(url)}")
    return url


def load_thresholds(path: str | Path | None = None) -> dict:
    """Read and check the thresholds file; an invalid file is refused with one clear message.

    Read again only when the file changes (pages ask for the rules on every rerun). A copy is returned,
    so a caller that edits it changes nothing for the others.
    """
    path = Path(path or get("JUNHENG_THRESHOLDS"))
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        stamp = None
    return copy.deepcopy(_load_thresholds(path, stamp))


@lru_cache(maxsize=8)
def _load_thresholds(path: Path, stamp: int | None) -> dict:
    try:
        with open(path, "rb") as f:
            rules = tomllib.load(f)
    except FileNotFoundError:
        raise SettingsError(f"阈值设置文件不存在 / thresholds file not found: {path.name}") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"阈值设置文件格式错误 / thresholds file is not valid TOML: {path.name}: {e}") from None
    for section, keys in REQUIRED_RULES.items():
        if section not in rules:
            raise SettingsError(f"阈值设置文件缺少 [{section}] / thresholds file lacks [{section}]: {path.name}")
        for key in keys:
            if not isinstance(rules[section].get(key), (int, float)):
                raise SettingsError(f"阈值设置文件 [{section}] 缺少数值 {key} / [{section}] lacks the number "
                                    f"{key}: {path.name}")
    _check_class_profiles(rules, path)
    _check_notices(rules, path)
    return rules


def _check_notices(rules: dict, path: Path) -> None:
    """[notices]: contact a text, counties a table of 6-digit county codes to texts (both optional)."""
    notices = rules.get("notices", {})
    counties = notices.get("counties", {}) if isinstance(notices, dict) else None
    if (not isinstance(notices, dict) or not isinstance(notices.get("contact", ""), str)
            or not isinstance(counties, dict)
            or not all(len(k) == 6 and k.isdigit() and isinstance(v, str) for k, v in counties.items())):
        raise SettingsError(f"阈值设置文件 [notices] 无效：contact 须为文字，[notices.counties] 须为“6 位县级代码 = "
                            f"文字” / [notices] is invalid: contact must be a text, [notices.counties] 6-digit "
                            f"county codes = texts: {path.name}")


def notice_contact(rules: dict, county: str) -> str:
    """The contact line printed on a county's 整改通知单: its own ([notices.counties]) or the file's ([notices]
    contact), stripped; '' when neither is set (the line is then left out)."""
    notices = rules.get("notices", {})
    return str(notices.get("counties", {}).get(county) or notices.get("contact", "")).strip()


CLASS_BANDS = ("66+", "56+", "primary_cap", "junior_cap")
CLASS_RULES = ("share_max", "cut_min", "zero", "no_increase")


def _check_class_profiles(rules: dict, path: Path) -> None:
    """The large-class rule profiles: each has labels and milestones with a known band and rule."""
    profiles = rules.get("class_profiles")
    default = rules["targets"].get("class_profile")
    if not isinstance(profiles, dict) or default not in profiles:
        raise SettingsError(f"阈值设置文件须有 [class_profiles.{default}]（targets.class_profile） / thresholds file "
                            f"lacks the large-class profile [class_profiles.{default}] named by targets.class_profile: "
                            f"{path.name}")
    for name, profile in profiles.items():
        where = f"[class_profiles.{name}]"
        if not isinstance(profile.get("zh"), str) or not isinstance(profile.get("en"), str):
            raise SettingsError(f"{where} 缺少 zh / en 名称 / lacks its zh and en labels: {path.name}")
        for m in profile.get("milestones", []):
            numbers = ("year", "value") if m.get("rule") in ("share_max", "cut_min") else ("year",)
            if (m.get("band") not in CLASS_BANDS or m.get("rule") not in CLASS_RULES
                    or not all(isinstance(m.get(k), (int, float)) for k in numbers)):
                raise SettingsError(f"{where} 的目标无效 / has an invalid milestone {m} "
                                    f"(band: {', '.join(CLASS_BANDS)}; rule: {', '.join(CLASS_RULES)}; "
                                    f"year and value numbers): {path.name}")


REQUIRED_RULES = {
    "basic": ("primary", "junior"),
    "quality": ("primary", "junior", "school_min_met", "school_rest_share"),
    "rules": ("junior_weight", "senior_weight", "teaching_point_min_students", "basic_teaching_point_min_students",
              "include_private_schools", "large_school_max", "combined_school_max", "small_school_min"),
    "minimums": (),
    "targets": ("standardized_share", "standardized_share_year", "standardized_all_public_year", "pace_years",
                "psych_classes_per_teacher", "primary_class_max", "junior_class_max"),
    "privacy": ("min_count",),
}
