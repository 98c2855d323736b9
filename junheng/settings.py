"""Runtime settings, declared once as data and read from the environment."""
from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS = (
    Setting("JUNHENG_DATA_DIR", "data", "Data directory holding snapshots/, boundaries/ and manifest.json."),
    Setting("JUNHENG_THRESHOLDS", str(PACKAGE_DIR / "rules" / "thresholds.toml"),
            "TOML file with evaluation thresholds, per-school minimums and counting rules; copy and edit it for a province's own rules."),
    Setting("JUNHENG_TILE_URL", "", "Optional base-map tile URL template (e.g. an intranet tile server). Empty: boundaries only, nothing fetched."),
    Setting("JUNHENG_LANG", "zh", "Default interface language: zh or en."),
)
_BY_NAME = {s.name: s for s in SETTINGS}


class SettingsError(ValueError):
    """A setting has a value the app cannot use."""


def get(name: str) -> str:
    """The value of one declared setting (environment first, then default)."""
    return os.environ.get(name, _BY_NAME[name].default)


def data_dir() -> Path:
    return Path(get("JUNHENG_DATA_DIR")).expanduser()


def default_lang() -> str:
    lang = get("JUNHENG_LANG")
    if lang not in ("zh", "en"):
        raise SettingsError(f"JUNHENG_LANG must be zh or en, not {lang!r}")
    return lang


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
        raise SettingsError(f"阈值设置文件不存在 / thresholds file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"阈值设置文件格式错误 / thresholds file is not valid TOML: {path}: {e}") from None
    for section, keys in REQUIRED_RULES.items():
        if section not in rules:
            raise SettingsError(f"阈值设置文件缺少 [{section}] / thresholds file lacks [{section}]: {path}")
        for key in keys:
            if not isinstance(rules[section].get(key), (int, float)):
                raise SettingsError(f"阈值设置文件 [{section}] 缺少数值 {key} / [{section}] lacks the number "
                                    f"{key}: {path}")
    return rules


REQUIRED_RULES = {
    "basic": ("primary", "junior"),
    "quality": ("primary", "junior", "school_min_met", "school_rest_share"),
    "rules": ("junior_weight", "teaching_point_min_students", "large_class_min", "huge_class_min",
              "large_school_max", "small_school_min"),
    "minimums": (),
    "targets": ("standardized_share_2015", "standardized_share_year", "standardized_all_public_year",
                "huge_class_basic_share", "huge_class_basic_year", "huge_class_cut_2017",
                "large_class_basic_share", "large_class_basic_year", "large_class_yearly_cut", "pace_years",
                "psych_classes_per_teacher"),
    "privacy": ("min_count",),
}
