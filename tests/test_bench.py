"""A small smoke run of the benchmark (tiny data, no browser), so it cannot silently break."""
import json

from junheng.tools import bench, cli


def test_bench_smoke_run_writes_the_published_shape(tiny_data, tmp_path):
    out = tmp_path / "bench.json"
    report = tmp_path / "benchmarks.md"
    code = cli.main(["bench", "--data-dir", str(tiny_data), "--repeats", "2", "--no-pages", "--json", str(out),
                     "--report", str(report)])
    assert code == 0
    result = json.loads(out.read_text())
    assert {"queries", "pages", "peak_rss_mb", "startup_ms", "demo_national_s"} <= set(result)
    names = {q["name"] for q in result["queries"]}
    assert {"county_totals", "school_rows", "level_group_totals", "counties_with_data"} <= names
    for q in result["queries"]:
        assert {"name", "scope", "cold_ms", "warm_ms_median", "warm_ms_p95", "pandas_ms_median", "ratio"} <= set(q)
        assert q["scope"] in ("county", "province", "national")
        assert q["same_numbers"], q["name"]  # DuckDB and the pandas way agree on the fixture
        assert q["warm_ms_p95"] >= q["warm_ms_median"] > 0
    assert "| `county_totals`" in report.read_text()


def test_same_numbers_notices_a_difference():
    import pandas as pd
    import polars as pl
    duck = pl.DataFrame({"county_code": ["370724"], "schools": [3]})
    assert bench.same_numbers(duck, pd.DataFrame({"county_code": ["370724"], "schools": [3]}))
    assert not bench.same_numbers(duck, pd.DataFrame({"county_code": ["370724"], "schools": [4]}))
    assert not bench.same_numbers(duck, pd.DataFrame({"county_code": ["370725"], "schools": [3]}))
