from pathlib import Path

import pytest

from junheng import settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("setting", settings.SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_in_the_readme(setting):
    assert setting.name in (ROOT / "README.md").read_text(encoding="utf-8")


def test_missing_thresholds_file_is_refused_clearly(tmp_path):
    with pytest.raises(settings.SettingsError, match="阈值设置文件不存在"):
        settings.load_thresholds(tmp_path / "nope.toml")


def test_thresholds_file_without_a_section_is_refused(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[basic]\nprimary = 0.6\njunior = 0.5\n")
    with pytest.raises(settings.SettingsError, match=r"\[quality\]"):
        settings.load_thresholds(path)


def test_broken_toml_is_refused(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[basic\n")
    with pytest.raises(settings.SettingsError, match="TOML"):
        settings.load_thresholds(path)


def test_bad_language_setting_is_refused(monkeypatch):
    monkeypatch.setenv("JUNHENG_LANG", "fr")
    with pytest.raises(settings.SettingsError, match="zh or en"):
        settings.default_lang()


def test_data_dictionary_document_is_up_to_date():
    from junheng.data import dictionary
    assert (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8") == dictionary.markdown(), \
        "run: junheng dictionary --out docs/data_dictionary.md"


def test_demo_data_document_names_every_parameter():
    import re
    source = (ROOT / "junheng" / "data" / "demo.py").read_text(encoding="utf-8")
    block = source.split("# PARAMETERS")[1].split("# ----")[0]
    names = re.findall(r"^([A-Z_]+) =", block, flags=re.M)
    doc = (ROOT / "docs" / "demo_data.md").read_text(encoding="utf-8")
    undocumented = [n for n in names if n not in doc and not any(n.startswith(p.rstrip("*")) and p.endswith("*")
                                                                 for p in re.findall(r"`([A-Z_]+\*)`", doc))]
    assert names and not undocumented, undocumented


def test_the_duckdb_memory_setting_bounds_the_data_connection(monkeypatch, demo_data):
    from junheng.data import db
    monkeypatch.setenv("JUNHENG_DUCKDB_MEMORY", "300MB")
    settings.check()
    con = db.connect(demo_data)
    limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit.endswith("MiB") and 280 <= float(limit.split()[0]) <= 300
    monkeypatch.setenv("JUNHENG_DUCKDB_MEMORY", "lots")
    with pytest.raises(settings.SettingsError, match="JUNHENG_DUCKDB_MEMORY"):
        settings.check()
