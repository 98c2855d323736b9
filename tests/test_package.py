"""The package as it ships: a wheel built from the checkout, installed into a fresh environment outside it, runs
`junheng demo` and `junheng evaluate` from a directory that is not the checkout, reading its queries, rules and
sample data from itself."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from junheng.settings import PROJECT_DIR

# What the wheel must carry besides the modules: one of each kind of package data.
PACKAGE_DATA = ("junheng/queries/school_rows.sql", "junheng/rules/thresholds.toml", "junheng/rules/indicators.toml",
                "junheng/data/data_dictionary.toml", "junheng/data/samples/county_self_assessment_2025.csv",
                "junheng/static/favicon.svg", "junheng/access/__init__.py", "junheng/commands/__init__.py")


def _source_copy(dest: Path) -> Path:
    """The files a build reads, copied (links kept as links): an in-place build would leave build/ in the
    checkout, and a stale build/lib there would slip removed files into the wheel."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "*.map")
    for name in ("junheng", "queries", "static"):
        shutil.copytree(PROJECT_DIR / name, dest / name, symlinks=True, ignore=skip)
    shutil.copy(PROJECT_DIR / "pyproject.toml", dest)
    return dest


def _run(command: list, cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_wheel_installed_outside_the_checkout_runs_demo_and_evaluate(tmp_path, boundary_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUNHENG_", "VIRTUAL_ENV"))}
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(dist), str(_source_copy(tmp_path / "src"))], tmp_path, env, 300)
    wheel = next(dist.glob("junheng-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(PACKAGE_DATA) <= names, set(PACKAGE_DATA) - names
    assert len([n for n in names if n.startswith("junheng/queries/")]) == len(list((PROJECT_DIR / "queries").glob(
        "*.sql")))

    # A fresh environment without pip or the project: its only way to the dependencies is a .pth line naming
    # the project environment's site-packages (added after its own, and not a site directory, so the project's
    # editable-install hook there never runs).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env, 120)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     tmp_path, env, 60).stdout.strip())
    (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # The project's pip, run by the fresh interpreter, installs into the fresh environment; --ignore-installed:
    # the project's own editable junheng is visible on the .pth path and must be neither used nor uninstalled.
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", str(wheel)],
         tmp_path, env, 300)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import json, junheng\nfrom junheng import settings\n"
            "print(json.dumps([junheng.__file__, str(settings.QUERY_DIR), str(settings.STATIC_DIR)]))")
    where = json.loads(_run([str(python), "-c", code], elsewhere, env, 60).stdout)
    for path in where:
        assert Path(path).resolve().is_relative_to(site), where  # the installed copy, not the checkout
    assert (Path(where[1]) / "school_rows.sql").is_file() and (Path(where[2]) / "favicon.svg").is_file()

    data = tmp_path / "data"
    shutil.copytree(boundary_dir, data / "boundaries")  # built once per test run; `demo` builds them if missing
    junheng = str(venv / "bin" / "junheng")  # the console script the wheel's entry point made
    # --no-plans: the 35 counties' 达标方案 ahead took most of this test's 100-120 s; evaluate below plans 370724
    demo = _run([junheng, "demo", "--scope", "demo", "--years", "2025", "--no-plans", "--data-dir", str(data)],
                elsewhere, env, 600)
    assert "for 35 counties" in demo.stdout, demo.stdout
    assert not list((data / "aggregates").glob("precomputed/*"))  # no plan computed ahead
    out = _run([junheng, "evaluate", "--county", "370724", "--year", "2025", "--json", "--data-dir", str(data)],
               elsewhere, env, 300)
    result = json.loads(out.stdout)
    assert (result["county_code"], result["year"]) == ("370724", 2025)
    assert set(result["levels"]) == {"primary", "junior"} and set(result["verdicts"]) == {"basic", "quality"}
    cv = result["parts"]["basic"]["balance"]["items"]["composite_cv_primary"]
    assert cv["source"] == "computed" and 0 < cv["value"] < 1
    # the same numbers as the checkout's own code on the same data
    checkout = _run([sys.executable, "-c", "from junheng.tools.cli import main; raise SystemExit(main())",
                     "evaluate", "--county", "370724", "--year", "2025", "--json", "--data-dir", str(data)],
                    PROJECT_DIR, env, 300)
    assert result == json.loads(checkout.stdout)
